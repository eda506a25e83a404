import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as https from "node:https"
import * as TestHarnessError from "../TestHarnessError.js"

export interface RequestOptions {
  readonly method?: string
  readonly headers?: Record<string, string>
  /** In-memory body, or `{ file }` to stream a file (Content-Length set from its size). */
  readonly body?: Uint8Array | string | { readonly file: string }
  /** PEM CA to trust (https). */
  readonly ca?: string
  /** Skip TLS verification (https). */
  readonly insecure?: boolean
  /** Maximum response body kept in memory. Default 16 MiB. */
  readonly maxBody?: number
  readonly timeoutMs?: number
}

export interface Response {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: Uint8Array
  readonly text: string
  readonly header: (name: string) => string | undefined
}

export const request = (
  url: string,
  options: RequestOptions = {}
): Effect.Effect<Response, TestHarnessError.TestHarnessError> =>
  Effect.async<Response, TestHarnessError.TestHarnessError>((resume) => {
    const method = options.method ?? "GET"
    const headers: Record<string, string> = { ...options.headers }
    const body = options.body
    let fileSize: number | undefined
    if (body !== undefined && typeof body === "object" && "file" in body) {
      try {
        fileSize = fs.statSync(body.file).size
      } catch (error) {
        resume(Effect.fail(TestHarnessError.make(`cannot read ${body.file}`, error)))
        return
      }
      headers["content-length"] = String(fileSize)
    } else if (body !== undefined) {
      headers["content-length"] = String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength)
    }
    const isHttps = url.startsWith("https:")
    const requestOptions: https.RequestOptions = {
      method,
      headers,
      agent: false,
      timeout: options.timeoutMs ?? 60_000,
      ...(isHttps && options.ca !== undefined ? { ca: options.ca } : {}),
      ...(isHttps && options.insecure === true ? { rejectUnauthorized: false } : {})
    }
    const maxBody = options.maxBody ?? 16 * 1024 * 1024
    const req = (isHttps ? https : http).request(url, requestOptions, (res) => {
      const chunks: Array<Buffer> = []
      let size = 0
      res.on("data", (chunk: Buffer) => {
        size += chunk.length
        if (size <= maxBody) chunks.push(chunk)
      })
      res.on("error", (error) => resume(Effect.fail(TestHarnessError.make(`${method} ${url} failed`, error))))
      res.on("end", () => {
        const data = Buffer.concat(chunks)
        resume(Effect.succeed({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: new Uint8Array(data),
          text: data.toString("utf8"),
          header: (name: string) => {
            const value = res.headers[name.toLowerCase()]
            return Array.isArray(value) ? value.join(", ") : value
          }
        }))
      })
    })
    req.on("timeout", () => req.destroy(new Error("timeout")))
    req.on("error", (error) => resume(Effect.fail(TestHarnessError.make(`${method} ${url} failed`, error))))
    if (body === undefined) req.end()
    else if (typeof body === "object" && "file" in body) {
      fs.createReadStream(body.file).on("error", (e) => req.destroy(e)).pipe(req)
    } else req.end(body)
    return Effect.sync(() => req.destroy())
  })
