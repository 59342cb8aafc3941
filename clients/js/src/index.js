// switchboard's JavaScript client: browsers and Node 18+ (with `ws`).
export { Switchboard } from "./client.js";
export { Subscription } from "./subscription.js";
export { SwitchboardError } from "./errors.js";
export { LOCAL_CODES, reconnects, backoffDelay } from "./policy.js";
