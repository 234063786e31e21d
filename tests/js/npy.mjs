// NumPy .npy files for the node tests (float32, float64, int64, int32, uint8, bool): the format is a text header
// and raw little-endian data, so a few lines do it.
const TYPES = { '<f4': Float32Array, '<f8': Float64Array, '<i8': BigInt64Array, '<i4': Int32Array, '|u1': Uint8Array, '|b1': Uint8Array, '|i1': Int8Array };
const DTYPES = { '<f4': 'float32', '<f8': 'float64', '<i8': 'int64', '<i4': 'int32', '|u1': 'uint8', '|b1': 'bool', '|i1': 'int8' };

export function npyRead(buf) {
  const u8 = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (u8[0] !== 0x93 || String.fromCharCode(...u8.subarray(1, 6)) !== 'NUMPY') throw new Error('not a .npy file');
  const major = u8[6];
  const hlen = major === 1 ? u8[8] | (u8[9] << 8) : u8[8] | (u8[9] << 8) | (u8[10] << 16) | (u8[11] << 24);
  const hstart = major === 1 ? 10 : 12;
  const header = Buffer.from(u8.subarray(hstart, hstart + hlen)).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const T = TYPES[descr];
  if (!T) throw new Error(`npy dtype ${descr} not handled by the test reader`);
  const start = hstart + hlen;
  const copy = u8.slice(start);  // aligned copy
  return { dtype: DTYPES[descr], shape, data: new T(copy.buffer, 0, copy.byteLength / T.BYTES_PER_ELEMENT) };
}

export function npyWrite(t) {
  const descr = { float32: '<f4', float64: '<f8', int64: '<i8', int32: '<i4', uint8: '|u1', bool: '|b1', int8: '|i1' }[t.dtype];
  const shape = `(${t.shape.join(', ')}${t.shape.length === 1 ? ',' : ''})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)]);
}
