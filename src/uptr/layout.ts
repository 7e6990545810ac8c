/**
 * Type layouts: how a value of a C type sits in user memory.
 *
 * A layout knows its size and alignment and turns bytes into a value and
 * back (little-endian, as on every architecture axptr models). 64-bit
 * integers, `usize` and `isize` are `bigint` (RV64 / LP64: `long` and
 * pointers are 64-bit). `c_char` is unsigned, as on RISC-V and AArch64.
 * Structs follow the C rules: each field at the next multiple of its
 * alignment, the struct aligned to its largest field and padded to a
 * multiple of that; {@link encodeToBytes} zeroes the padding, so no kernel
 * data leaks to user space through it.
 */

export interface Layout<T> {
  readonly name: string;
  readonly size: number;
  readonly align: number;
  /** Reads a value at byte `off` of `view`. */
  decode(view: DataView, off: number): T;
  /** Writes `value` at byte `off` of `view` (struct padding is not touched). */
  encode(view: DataView, off: number, value: T): void;
  /**
   * True for a scalar (an integer of 1 to 8 bytes): no padding, and `encode`
   * writes every byte or throws before writing any, so it may encode straight
   * into user memory.
   */
  readonly scalar?: boolean;
}

/** The value type a layout describes. */
export type ValueOf<L> = L extends Layout<infer T> ? T : never;

function prim<T>(
  name: string,
  size: number,
  decode: (v: DataView, off: number) => T,
  encode: (v: DataView, off: number, x: T) => void,
): Layout<T> {
  return Object.freeze({ name, size, align: size, decode, encode, scalar: true });
}

export const u8 = prim<number>(
  'u8',
  1,
  (v, o) => v.getUint8(o),
  (v, o, x) => v.setUint8(o, x),
);
export const i8 = prim<number>(
  'i8',
  1,
  (v, o) => v.getInt8(o),
  (v, o, x) => v.setInt8(o, x),
);
export const u16 = prim<number>(
  'u16',
  2,
  (v, o) => v.getUint16(o, true),
  (v, o, x) => v.setUint16(o, x, true),
);
export const i16 = prim<number>(
  'i16',
  2,
  (v, o) => v.getInt16(o, true),
  (v, o, x) => v.setInt16(o, x, true),
);
export const u32 = prim<number>(
  'u32',
  4,
  (v, o) => v.getUint32(o, true),
  (v, o, x) => v.setUint32(o, x, true),
);
export const i32 = prim<number>(
  'i32',
  4,
  (v, o) => v.getInt32(o, true),
  (v, o, x) => v.setInt32(o, x, true),
);
export const u64 = prim<bigint>(
  'u64',
  8,
  (v, o) => v.getBigUint64(o, true),
  (v, o, x) => v.setBigUint64(o, BigInt.asUintN(64, x), true),
);
export const i64 = prim<bigint>(
  'i64',
  8,
  (v, o) => v.getBigInt64(o, true),
  (v, o, x) => v.setBigInt64(o, BigInt.asIntN(64, x), true),
);
export const f32 = prim<number>(
  'f32',
  4,
  (v, o) => v.getFloat32(o, true),
  (v, o, x) => v.setFloat32(o, x, true),
);
export const f64 = prim<number>(
  'f64',
  8,
  (v, o) => v.getFloat64(o, true),
  (v, o, x) => v.setFloat64(o, x, true),
);
/** `usize` / `size_t` / `unsigned long` / pointers on a 64-bit target. */
export const usize: Layout<bigint> = Object.freeze({ ...u64, name: 'usize' });
/** `isize` / `ssize_t` / `long`. */
export const isize: Layout<bigint> = Object.freeze({ ...i64, name: 'isize' });
/** C `char`: unsigned on RISC-V and AArch64. */
export const c_char: Layout<number> = Object.freeze({ ...u8, name: 'c_char' });

type FieldList = readonly (readonly [string, Layout<unknown>])[];
type StructValue<F extends FieldList> = { [K in F[number] as K[0]]: ValueOf<K[1]> };

export interface StructLayout<T> extends Layout<T> {
  /** Byte offset of each field. */
  readonly offsets: Readonly<Record<string, number>>;
  readonly fields: FieldList;
}

/** A C struct of `fields` in order, with C alignment and padding. */
export function struct<const F extends FieldList>(name: string, fields: F): StructLayout<StructValue<F>> {
  let off = 0;
  let align = 1;
  const offsets: Record<string, number> = {};
  for (const [field, layout] of fields) {
    off = Math.ceil(off / layout.align) * layout.align;
    offsets[field] = off;
    off += layout.size;
    align = Math.max(align, layout.align);
  }
  const size = Math.ceil(off / align) * align;
  return Object.freeze({
    name,
    size,
    align,
    offsets: Object.freeze(offsets),
    fields,
    decode(view: DataView, base: number) {
      const value: Record<string, unknown> = {};
      for (const [field, layout] of fields) value[field] = layout.decode(view, base + offsets[field]);
      return value as StructValue<F>;
    },
    encode(view: DataView, base: number, value: StructValue<F>) {
      const record = value as Record<string, unknown>;
      for (const [field, layout] of fields) layout.encode(view, base + offsets[field], record[field]);
    },
  });
}

/** A fixed C array `T[n]`. */
export function array<T>(elem: Layout<T>, n: number): Layout<T[]> {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`array length ${n}`);
  return Object.freeze({
    name: `${elem.name}[${n}]`,
    size: elem.size * n,
    align: elem.align,
    decode(view: DataView, off: number) {
      const out: T[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = elem.decode(view, off + i * elem.size);
      return out;
    },
    encode(view: DataView, off: number, value: T[]) {
      if (value.length !== n) throw new RangeError(`${elem.name}[${n}] given ${value.length} elements`);
      for (let i = 0; i < n; i++) elem.encode(view, off + i * elem.size, value[i]);
    },
  });
}

/** The bytes of `value` with every padding byte zero. */
export function encodeToBytes<T>(layout: Layout<T>, value: T): Uint8Array {
  // An explicit ArrayBuffer: `.buffer` of a small on-heap typed array is a V8 slow path.
  const bytes = new Uint8Array(new ArrayBuffer(layout.size));
  layout.encode(new DataView(bytes.buffer), 0, value);
  return bytes;
}

/** The value stored in `bytes` (at `off`). */
export function decodeFromBytes<T>(layout: Layout<T>, bytes: Uint8Array, off = 0): T {
  return layout.decode(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), off);
}
