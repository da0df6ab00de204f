// Kernel constants as runtime values (the table itself lives in ../constants.ts).

import { CONSTANTS as TABLE } from '../constants';
import type { Value } from './values';

export const CONSTANTS: Readonly<Record<string, Value>> = Object.fromEntries([...TABLE].map(([name, info]) => [name, info.value]));
