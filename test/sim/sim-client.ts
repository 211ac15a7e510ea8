// Moved to test/support/test-world.ts (the one test world, issue 21); kept so that branches in
// flight that import it still compile. New code imports test/support/test-world.ts.
export { createClock, createSimClient, syncContextOf, type SimClient, type SimClock } from '../support/test-world.js';
