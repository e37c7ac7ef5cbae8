/** This package's version, sent with `registerBackend` for the duplicate-copy handshake. Keep in step with package.json. */
export const VERSION = '0.1.0';
