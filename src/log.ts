import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

/** Structured JSON logs; human-readable when stderr is a terminal. */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info', forcePretty?: boolean): Logger {
  const usePretty = forcePretty ?? process.stderr.isTTY;
  if (usePretty) return pino({ level }, pretty({ colorize: true, destination: 2, sync: true }));
  return pino({ level, base: { app: 'meshplane' } }, pino.destination({ dest: 2, sync: true }));
}
