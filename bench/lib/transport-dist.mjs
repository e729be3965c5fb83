/**
 * Where the transport benchmark's children load our build from: dist/ by default; BENCH_DIST=<dir> loads another
 * build instead (an A/B of two builds: copy dist/ aside before a change, then run the two against each other).
 */
import { pathToFileURL } from 'node:url';

const base = process.env.BENCH_DIST
  ? pathToFileURL(`${process.env.BENCH_DIST.replace(/\/$/, '')}/`)
  : new URL('../../dist/', import.meta.url);

/** The URL of `path` inside the build (e.g. 'nest/index.js'). */
export const distUrl = (path) => new URL(path, base).href;
