/** The Connect upload's multipart body: what Kimi's file service reads, without copying the file. */
import { describe, expect, it } from 'vitest';
import { firstMultipartFile } from '../../../emulator/file-store.js';
import { multipartPieces } from './files.js';

describe('Connect upload body', () => {
  const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 0, 255]);

  it('is a multipart/form-data body whose file part carries the name, the type and the exact bytes', () => {
    const { pieces, contentType, length } = multipartPieces({ name: '截图 1.png', mime: 'image/png', bytes });
    const body = Buffer.concat(pieces);
    expect(length).toBe(body.byteLength);
    expect(firstMultipartFile(body, contentType)).toEqual({ name: '截图 1.png', contentType: 'image/png', bytes });
  });

  it('sends the file from its own memory instead of a copy', () => {
    const { pieces } = multipartPieces({ name: 'a.png', mime: 'image/png', bytes });
    expect(pieces[1]).toBe(bytes);
  });

  it('escapes quotes and line breaks in the file name, so a name cannot add headers or parts', () => {
    const { pieces, contentType } = multipartPieces({ name: 'a"\r\nContent-Type: text/html\r\n.png', mime: 'image/png', bytes }, 'b0undary');
    expect(contentType).toBe('multipart/form-data; boundary=b0undary');
    expect(Buffer.from(pieces[0]!).toString('utf8').split('\r\n')).toEqual([
      '--b0undary',
      'Content-Disposition: form-data; name="file"; filename="a%22%0D%0AContent-Type: text/html%0D%0A.png"',
      'Content-Type: image/png',
      '',
      '',
    ]);
  });
});
