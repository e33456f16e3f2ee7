'use strict';

/*
 * CommonJS with no TypeScript and nothing newer than an old Node can parse, so that the entries
 * reach this check on any version and say what they need instead of failing on `node:sqlite`
 * or a type annotation. 24.7 brings crypto.argon2; package.json's engines says the same.
 */
const required = { major: 24, minor: 7 };

function exitUnlessSupportedNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major > required.major || (major === required.major && minor >= required.minor)) return;
  process.stderr.write(
    'MFA Portal needs Node.js ' +
      required.major +
      '.' +
      required.minor +
      ' or later; this is Node.js ' +
      process.versions.node +
      '.\n',
  );
  process.exit(1);
}

module.exports = { required, exitUnlessSupportedNode };
