/**
 * Mapping flags (page_table_multiarch's `MappingFlags`): the
 * architecture-neutral permissions and memory type of a mapping.
 *
 * A plain number so that hot paths test bits with `&`; the helpers below give
 * the set operations and a readable form.
 */
export type MappingFlags = number;

export const MappingFlags = {
  /** No flags: "not mapped". */
  EMPTY: 0,
  READ: 1 << 0,
  WRITE: 1 << 1,
  EXECUTE: 1 << 2,
  USER: 1 << 3,
  DEVICE: 1 << 4,
  UNCACHED: 1 << 5,
  /** Every defined bit. */
  ALL: 0x3f,
} as const;

const NAMES: readonly [number, string][] = [
  [MappingFlags.READ, 'READ'],
  [MappingFlags.WRITE, 'WRITE'],
  [MappingFlags.EXECUTE, 'EXECUTE'],
  [MappingFlags.USER, 'USER'],
  [MappingFlags.DEVICE, 'DEVICE'],
  [MappingFlags.UNCACHED, 'UNCACHED'],
];

/** True when `flags` has every bit of `wanted`. */
export function flagsContain(flags: MappingFlags, wanted: MappingFlags): boolean {
  return (flags & wanted) === wanted;
}

export function flagsUnion(a: MappingFlags, b: MappingFlags): MappingFlags {
  return a | b;
}

export function flagsIntersect(a: MappingFlags, b: MappingFlags): MappingFlags {
  return a & b;
}

export function flagsRemove(a: MappingFlags, b: MappingFlags): MappingFlags {
  return a & ~b;
}

/** True when `flags` allow some access (READ, WRITE or EXECUTE); false for PROT_NONE. */
export function grantsAccess(flags: MappingFlags): boolean {
  return (flags & (MappingFlags.READ | MappingFlags.WRITE | MappingFlags.EXECUTE)) !== 0;
}

/** True for a value made only of defined bits. */
export function isValidFlags(flags: number): flags is MappingFlags {
  return Number.isInteger(flags) && (flags & ~MappingFlags.ALL) === 0 && flags >= 0;
}

/** Readable form: `READ | WRITE | USER`, or `EMPTY`. */
export function flagsToString(flags: MappingFlags): string {
  const parts = NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
  return parts.length === 0 ? 'EMPTY' : parts.join(' | ');
}

/** Parses the readable form (names joined by `|`, case-insensitive); undefined for an unknown name. */
export function flagsFromString(text: string): MappingFlags | undefined {
  let flags = 0;
  for (const raw of text.split('|')) {
    const name = raw.trim().toUpperCase();
    if (name === '' || name === 'EMPTY') continue;
    const hit = NAMES.find(([, n]) => n === name);
    if (hit === undefined) return undefined;
    flags |= hit[0];
  }
  return flags;
}
