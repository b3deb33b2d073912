/**
 * The version of this frontend package; kept equal to `package.json`'s
 * `version` (`jlpm check:version` verifies it) and compared with the server
 * extension's `GET version` on start.
 */
export const FRONTEND_VERSION = '0.1.0';
