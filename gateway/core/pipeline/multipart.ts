// multipart/form-data (RFC 7578) fields for the policy input: text fields as strings (an array when a name repeats),
// file parts as {filename, content_type, size} — their bytes stay out of the input. Synchronous and runtime-free
// (no node:*, no Response.formData), so input building stays one pure step. Anything it cannot read is an error
// the caller turns into input.request.body_parse_error, never a guess.

export interface MultipartFile {
  filename: string
  content_type: string | null
  size: number
}

export class MultipartError extends Error {}

/** The fields of a multipart/form-data body; throws MultipartError when the body does not parse. */
export function parseMultipart(
  body: Uint8Array,
  contentType: string,
): Record<string, string | MultipartFile | (string | MultipartFile)[]> {
  const boundary = /;\s*boundary=(?:"([^"]{1,70})"|([^;\s"]{1,70}))/i.exec(contentType)
  if (!boundary) throw new MultipartError('multipart/form-data without a boundary parameter')
  const delimiter = `--${boundary[1] ?? boundary[2]}`
  // One char per byte, so offsets are byte offsets and file parts need no decoding.
  const bin = binaryString(body)
  let at = bin.indexOf(delimiter)
  if (at < 0 || (at > 0 && bin.slice(at - 2, at) !== '\r\n'))
    throw new MultipartError('the multipart body does not start with its boundary')
  const out: Record<string, string | MultipartFile | (string | MultipartFile)[]> = {}
  for (;;) {
    at += delimiter.length
    if (bin.startsWith('--', at)) return out // the close delimiter
    const lineEnd = bin.indexOf('\r\n', at)
    if (lineEnd < 0 || bin.slice(at, lineEnd).trim() !== '')
      throw new MultipartError('malformed multipart boundary line')
    const next = bin.indexOf(`\r\n${delimiter}`, lineEnd)
    if (next < 0) throw new MultipartError('the multipart body has no closing boundary')
    const part = bin.slice(lineEnd + 2, next)
    const split = part.indexOf('\r\n\r\n')
    const head = split < 0 ? part : part.slice(0, split)
    const content = split < 0 ? '' : part.slice(split + 4)
    const { name, filename, type } = partHeaders(head)
    const value: string | MultipartFile =
      filename !== undefined ? { filename: utf8(filename), content_type: type, size: content.length } : utf8(content)
    const prev = out[name]
    if (prev === undefined) out[name] = value
    else if (Array.isArray(prev)) prev.push(value)
    else out[name] = [prev, value]
    at = next + 2
  }
}

function partHeaders(head: string): { name: string; filename: string | undefined; type: string | null } {
  let disposition: string | undefined
  let type: string | null = null
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':')
    if (colon < 0) throw new MultipartError('malformed multipart part header')
    const field = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    if (field === 'content-disposition') disposition = value
    else if (field === 'content-type') type = value.toLowerCase()
  }
  if (!disposition || !/^form-data\b/i.test(disposition))
    throw new MultipartError('a multipart part without Content-Disposition: form-data')
  const param = (key: string) => {
    const m = new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"|;\\s*${key}=([^;\\s]+)`, 'i').exec(disposition)
    return m ? (m[1] ?? m[2])!.replace(/\\(.)/g, '$1') : undefined
  }
  const name = param('name')
  if (name === undefined) throw new MultipartError('a multipart part without a name')
  return { name: utf8(name), filename: param('filename'), type }
}

function binaryString(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192))
  return s
}

function utf8(bin: string): string {
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0))
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new MultipartError('a multipart field is not valid UTF-8')
  }
}
