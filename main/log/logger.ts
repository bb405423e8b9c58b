// A small levelled logger for daemon messages (not the request log). Never give it secrets; as a last guard,
// every line is scrubbed of anything key-shaped (sk-…, Bearer …) and of query-string credentials.
import { scrub } from '../proxy/errors.js';

export type Level = 'error' | 'warn' | 'info' | 'debug' | 'trace';
const ORDER: Record<Level, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };

export interface Logger {
  level: Level;
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
}

export function createLogger(level: Level = 'info', write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const log = (lvl: Level, msg: string) => {
    if (ORDER[lvl] <= ORDER[logger.level]) write(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${scrub(msg)}\n`);
  };
  const logger: Logger = {
    level,
    error: (m) => log('error', m),
    warn: (m) => log('warn', m),
    info: (m) => log('info', m),
    debug: (m) => log('debug', m),
  };
  return logger;
}

export const silentLogger: Logger = { level: 'error', error() {}, warn() {}, info() {}, debug() {} };
