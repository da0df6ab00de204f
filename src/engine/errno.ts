// Linux errno values the engine returns (negated, as the kernel does).
export const EPERM = 1;
export const ENOENT = 2;
export const EIO = 5;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ERANGE = 34;
export const EOVERFLOW = 75;
export const EOPNOTSUPP = 95;
export const EREMOTEIO = 121;

export const ERRNO_NAMES: Readonly<Record<string, number>> = {
  EPERM, ENOENT, EIO, ENOMEM, EFAULT, EBUSY, EEXIST, ENODEV, EINVAL, ENOSPC, ERANGE, EOVERFLOW, EOPNOTSUPP, EREMOTEIO,
};

export function errnoName(code: number): string {
  const n = Math.abs(code);
  for (const [name, value] of Object.entries(ERRNO_NAMES)) if (value === n) return name;
  return `errno ${n}`;
}

/** Error thrown inside the engine for a kernel-style failure return; callers translate it to -errno. */
export class KernelError extends Error {
  constructor(readonly errno: number, message: string) {
    super(message);
  }
}

/** A path on which the kernel would BUG(): the emulator stops the statement and reports it. */
export class KernelBug extends Error {
  constructor(message: string) {
    super(message.startsWith('kernel BUG') ? message : `kernel BUG: ${message}`);
  }
}
