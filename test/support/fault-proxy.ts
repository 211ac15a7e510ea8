/**
 * The fault-injecting S3 proxy for the reliability tests. It lives in src/testing/ so the
 * plain-JS soak (scripts/soak.mjs) can import it from dist/; tests import it from here.
 */
export * from '../../src/testing/fault-proxy.js';
