// The test fixtures every suite reads, from the repository itself
// (test/fixtures): a missing or empty folder is an error, never a skip.

import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** The acceptance scenarios (copied from the project's shared reading material). */
export const SCENARIOS_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'scenarios');
export const EXAMPLES_DIR = path.join(REPO_ROOT, 'examples');

export interface DmasFile {
  name: string;
  path: string;
  source: string;
}

/** Every .dmas file of a folder, sorted by name; throws when there is none. */
export function dmasFiles(dir: string): DmasFile[] {
  const names = readdirSync(dir).filter((f) => f.endsWith('.dmas')).sort();
  if (names.length === 0) throw new Error(`no .dmas files in ${path.relative(REPO_ROOT, dir)}`);
  return names.map((name) => ({ name, path: path.join(dir, name), source: readFileSync(path.join(dir, name), 'utf8') }));
}

/** The acceptance scenarios. */
export function acceptanceScenarios(): DmasFile[] {
  return dmasFiles(SCENARIOS_DIR);
}

/** One acceptance scenario's source. */
export function acceptanceScenario(name: string): string {
  return readFileSync(path.join(SCENARIOS_DIR, name), 'utf8');
}
