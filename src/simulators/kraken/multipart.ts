/**
 * A small `multipart/form-data` reader (RFC 7578) for `POST /b2b/verifications/{user}`: the
 * simulator takes the raw bytes (they are signed) and reads the parts itself. Text fields and files
 * alike come back as bytes with their name; anything malformed is `undefined` (→ 400).
 */

export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** The `boundary` parameter of a multipart content type, or undefined. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) return undefined;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

function readHeaders(raw: string): { name?: string; filename?: string; contentType?: string } {
  const out: { name?: string; filename?: string; contentType?: string } = {};
  for (const line of raw.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === 'content-type') out.contentType = value;
    if (key !== 'content-disposition' || !/^form-data\b/i.test(value)) continue;
    const name = /;\s*name="([^"]*)"/i.exec(value)?.[1];
    const filename = /;\s*filename="([^"]*)"/i.exec(value)?.[1];
    if (name !== undefined) out.name = name;
    if (filename !== undefined) out.filename = filename;
  }
  return out;
}

export function parseMultipart(
  body: Buffer,
  contentType: string | undefined,
): FormPart[] | undefined {
  const boundary = boundaryOf(contentType);
  if (!boundary) return undefined;
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  if (at !== 0) return undefined;
  const parts: FormPart[] = [];
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === '--') return parts; // closing delimiter
    if (!body.subarray(at, at + 2).equals(CRLF)) return undefined;
    const headersEnd = body.indexOf(HEADER_END, at + 2);
    if (headersEnd < 0) return undefined;
    const next = body.indexOf(Buffer.concat([CRLF, delimiter]), headersEnd + 4);
    if (next < 0) return undefined;
    const h = readHeaders(body.subarray(at + 2, headersEnd).toString('utf8'));
    if (h.name === undefined) return undefined;
    parts.push({ ...h, name: h.name, data: body.subarray(headersEnd + 4, next) });
    at = next + CRLF.length;
  }
}
