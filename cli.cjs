#!/usr/bin/env node
'use strict';

/* `npx mfa-portal …`: the command line, after the same Node version check as the portal. */
require('./src/node-version.cjs').exitUnlessSupportedNode();
void import('./src/cli.ts');
