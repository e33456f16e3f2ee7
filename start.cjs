'use strict';

/*
 * The portal's process entry: `npm start`, systemd, and iisnode, whose interceptor.js require()s
 * the file its handler names. CommonJS for that reason: require() of the ES module graph in src/
 * fails (a dependency has a top-level await), so it is imported. Node runs the TypeScript there
 * as it is, stripping the types: nothing is built.
 */
require('./src/node-version.cjs').exitUnlessSupportedNode();
void import('./src/server.ts');
