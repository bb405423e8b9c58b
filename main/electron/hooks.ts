// Wiring of the parts the app gets from the rest of router67 (interception switch, CA trust check).
import type { AppHooks } from './app.js';

export function appHooks(): AppHooks {
  return {};
}
