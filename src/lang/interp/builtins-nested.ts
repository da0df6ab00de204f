// Builtins for nested domains (iommu_nested_domain_alloc).

import type { BuiltinBinding } from './builtin-types';

export const NESTED_BUILTINS: Readonly<Record<string, BuiltinBinding>> = {};
