/** The directory cannot answer: no server reached, a certificate that does not verify, a refused service bind. */
export class DirectoryUnavailableError extends Error {
  override name = 'DirectoryUnavailableError';
}
