// GET /debug/pprof/profile?seconds=N: a CPU profile of the running server (Go's
// pprof path, V8's format: open the file in Chrome DevTools or speedscope).
// Slow edits are found in production, not in a benchmark; this profiles what
// the process does for N seconds, with the event loop running as usual.
import { Session } from 'node:inspector/promises';
import type { ServerResponse } from 'node:http';

export const PROFILE_PATH = '/debug/pprof/profile';
const MAX_SECONDS = 60;
let running = false;

/** Answers a profile request: 400 for a bad duration, 409 while another profile runs. */
export async function serveCpuProfile(rawUrl: string | undefined, res: ServerResponse, json: (code: number, body: unknown) => void): Promise<void> {
  const raw = new URL(rawUrl ?? '/', 'http://admin').searchParams.get('seconds') ?? '10';
  const seconds = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || seconds <= 0 || seconds > MAX_SECONDS) return json(400, { error: `seconds=${raw}: give a duration in seconds, more than 0 and at most ${MAX_SECONDS} (default 10)` });
  if (running) return json(409, { error: 'a CPU profile is already being taken: try again when it is done' });
  running = true;
  const session = new Session();
  try {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const { profile } = await session.post('Profiler.stop');
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': 'application/json', 'content-disposition': 'attachment; filename="meshplane.cpuprofile"' });
    res.end(JSON.stringify(profile));
  } catch (err) {
    json(500, { error: `CPU profile: ${(err as Error).message}` });
  } finally {
    session.disconnect();
    running = false;
  }
}
