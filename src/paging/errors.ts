import { Errno, LinuxError } from '../errno/index.js';

/**
 * Why a page-table operation failed (page_table_multiarch's `PagingError`,
 * plus `NotCanonical` for an address the format cannot translate and
 * `InvalidFlags` for a huge page whose flags the format cannot encode as a
 * leaf).
 */
export type PagingErrorKind =
  | 'NoMemory'
  | 'NotAligned'
  | 'NotMapped'
  | 'AlreadyMapped'
  | 'MappedToHugePage'
  | 'NotCanonical'
  | 'InvalidFlags';

/** The Linux errno of each kind (through axerrno's AxError where axmm converts). */
export const PAGING_ERRNO: Readonly<Record<PagingErrorKind, number>> = {
  NoMemory: Errno.ENOMEM,
  NotAligned: Errno.EINVAL,
  NotMapped: Errno.EFAULT,
  AlreadyMapped: Errno.EEXIST,
  MappedToHugePage: Errno.EEXIST,
  NotCanonical: Errno.EFAULT,
  InvalidFlags: Errno.EINVAL,
};

/** A page-table error: a {@link LinuxError} that also names the crate's kind. */
export class PagingError extends LinuxError {
  readonly kind: PagingErrorKind;

  constructor(kind: PagingErrorKind, detail?: string) {
    super(PAGING_ERRNO[kind], detail === undefined ? kind : `${kind}: ${detail}`);
    this.name = 'PagingError';
    this.kind = kind;
  }
}

export function isPagingError(e: unknown, kind?: PagingErrorKind): e is PagingError {
  return e instanceof PagingError && (kind === undefined || e.kind === kind);
}
