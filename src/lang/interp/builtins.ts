// Every builtin the interpreter knows, by name: the core table plus one table per topic.

import type { BuiltinBinding } from './builtin-types';
import { CORE_BUILTINS } from './builtins-impl';
import { IOVA_BUILTINS } from './builtins-iova';
import { NESTED_BUILTINS } from './builtins-nested';
import { MACHINE_BUILTINS } from './builtins-machine';
import { PASID_BUILTINS } from './builtins-pasid';
import { VDUSE_BUILTINS } from './builtins-vduse';

export const BUILTINS: Readonly<Record<string, BuiltinBinding>> = { ...CORE_BUILTINS, ...IOVA_BUILTINS, ...PASID_BUILTINS, ...NESTED_BUILTINS, ...VDUSE_BUILTINS, ...MACHINE_BUILTINS };
