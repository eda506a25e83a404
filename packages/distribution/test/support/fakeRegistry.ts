/**
 * A small in-memory registry on a loopback socket, with switchable quirks, for protocol paths a real
 * registry will not exercise (short Range after PATCH, chunk minimum, foreign upload Location, referrers
 * API on/off, Link pagination).
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { createHash } from "node:crypto"
import type * as http from "node:http"
import { json, ociError, serve, type Server } from "./server.js"

export interface Quirks {
  /** `OCI-Chunk-Min-Length` announced on POST. */
  chunkMinLength?: number
  /** Store only half of the first PATCH of every 4 KiB-aligned chunk and report the shorter Range. */
  shortRange?: boolean
  /** Upload Location points here instead of this server. */
  uploadOrigin?: string
  /** Referrers API: "api" (with filtering when `filterReferrers`), or the status answered when missing. */
  referrers?: "api" | 404 | 400 | 406
  filterReferrers?: boolean
  /** Tags served, paginated by `n`/`last` with Link headers. */
  tags?: Array<string>
  /** Link header points at this origin instead. */
  linkOrigin?: string
  /** Cut the connection of the first blob PUT (the upload must be retried in a new session). */
  cutFirstPut?: boolean
  /** Honour If-Match / If-None-Match on manifest PUT (ETag = digest). */
  conditional?: boolean
  /** Before the first conditional PUT of a fallback tag, add this descriptor as a concurrent writer would. */
  raceWith?: Record<string, unknown>
  /** Reject PUT ?digest= with DIGEST_INVALID. */
  rejectPut?: boolean
}

export interface FakeRegistry extends Server {
  readonly blobs: Map<string, Buffer>
  readonly manifests: Map<string, { readonly type: string; readonly bytes: Buffer }>
  readonly quirks: Quirks
}

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

export const start = (quirks: Quirks = {}): Effect.Effect<FakeRegistry, never, Scope.Scope> => {
  const blobs = new Map<string, Buffer>()
  const manifests = new Map<string, { type: string; bytes: Buffer }>()
  const sessions = new Map<string, Buffer>()
  let nextSession = 0

  const handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => {
    const url = new URL(req.url!, "http://x")
    const path = url.pathname
    const method = req.method!
    if (path === "/v2/") return json(res, 200, {})
    let m: RegExpExecArray | null
    if ((m = /^\/v2\/(.+)\/tags\/list$/.exec(path)) !== null) {
      const all = quirks.tags ?? []
      const n = Number(url.searchParams.get("n") ?? all.length)
      const last = url.searchParams.get("last")
      const start = last === null ? 0 : all.indexOf(last) + 1
      const page = all.slice(start, start + n)
      const headers: Record<string, string> = {}
      if (start + n < all.length) {
        const origin = quirks.linkOrigin ?? ""
        headers.link = `<${origin}/v2/${m[1]}/tags/list?n=${n}&last=${page[page.length - 1]}>; rel="next"`
      }
      return json(res, 200, { name: m[1], tags: page }, headers)
    }
    if ((m = /^\/v2\/(.+)\/referrers\/(sha256:[a-f0-9]{64})$/.exec(path)) !== null) {
      if (quirks.referrers !== "api") {
        res.writeHead(quirks.referrers ?? 404, { "content-type": "text/plain" })
        return res.end("404 page not found\n")
      }
      const subject = m[2]!
      const all: Array<Record<string, unknown>> = []
      for (const [key, value] of manifests) {
        if (!key.startsWith(`${m[1]}@`)) continue
        const parsed = JSON.parse(value.bytes.toString()) as {
          subject?: { digest?: string }
          artifactType?: string
          config?: { mediaType?: string }
        }
        if (parsed.subject?.digest !== subject) continue
        all.push({
          mediaType: value.type,
          digest: key.slice(key.indexOf("@") + 1),
          size: value.bytes.length,
          artifactType: parsed.artifactType ?? parsed.config?.mediaType
        })
      }
      const artifactType = url.searchParams.get("artifactType")
      const filtered = quirks.filterReferrers === true && artifactType !== null
        ? all.filter((d) => d.artifactType === artifactType)
        : all
      const headers: Record<string, string> = { "content-type": "application/vnd.oci.image.index.v1+json" }
      if (quirks.filterReferrers === true && artifactType !== null) headers["oci-filters-applied"] = "artifactType"
      return json(res, 200, {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: filtered
      }, headers)
    }
    if ((m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path)) !== null) {
      const key = `${m[1]}${m[2]!.includes(":") ? "@" : ":"}${m[2]}`
      if (method === "PUT") {
        if (quirks.conditional === true) {
          if (quirks.raceWith !== undefined && /^sha256-/.test(m[2]!)) {
            const existing = manifests.get(key)
            const index = existing === undefined
              ? {
                schemaVersion: 2,
                mediaType: "application/vnd.oci.image.index.v1+json",
                manifests: [] as Array<unknown>
              }
              : JSON.parse(existing.bytes.toString()) as { manifests: Array<unknown> }
            index.manifests.push(quirks.raceWith)
            delete quirks.raceWith
            manifests.set(key, {
              type: "application/vnd.oci.image.index.v1+json",
              bytes: Buffer.from(JSON.stringify(index))
            })
          }
          const current = manifests.get(key)
          const ifMatch = req.headers["if-match"]
          const ifNoneMatch = req.headers["if-none-match"]
          if (
            (ifMatch !== undefined && (current === undefined || ifMatch !== `"${sha256(current.bytes)}"`)) ||
            (ifNoneMatch === "*" && current !== undefined)
          ) {
            return ociError(res, 412, "PRECONDITION_FAILED", "the manifest changed")
          }
        }
        const digest = sha256(body)
        const type = req.headers["content-type"] ?? ""
        manifests.set(`${m[1]}@${digest}`, { type, bytes: body })
        manifests.set(key, { type, bytes: body })
        res.writeHead(201, { "docker-content-digest": digest, location: `/v2/${m[1]}/manifests/${digest}` })
        return res.end()
      }
      const found = manifests.get(key)
      if (found === undefined) return ociError(res, 404, "MANIFEST_UNKNOWN", "manifest unknown")
      res.writeHead(200, {
        "content-type": found.type,
        "docker-content-digest": sha256(found.bytes),
        "content-length": found.bytes.length,
        ...(quirks.conditional === true ? { etag: `"${sha256(found.bytes)}"` } : {})
      })
      return res.end(method === "HEAD" ? undefined : found.bytes)
    }
    if ((m = /^\/v2\/(.+)\/blobs\/uploads\/$/.exec(path)) !== null && method === "POST") {
      const id = String(nextSession++)
      sessions.set(id, Buffer.alloc(0))
      const headers: Record<string, string> = {
        location: `${quirks.uploadOrigin ?? ""}/upload/${m[1]}/${id}?_state=abc`,
        range: "0-0"
      }
      if (quirks.chunkMinLength !== undefined) headers["oci-chunk-min-length"] = String(quirks.chunkMinLength)
      res.writeHead(202, headers)
      return res.end()
    }
    if ((m = /^\/upload\/(.+)\/(\d+)$/.exec(path)) !== null) {
      const [repo, id] = [m[1]!, m[2]!]
      const current = sessions.get(id)
      if (current === undefined) return ociError(res, 404, "BLOB_UPLOAD_UNKNOWN", "upload unknown")
      if (method === "DELETE") {
        sessions.delete(id)
        res.writeHead(204)
        return res.end()
      }
      if (method === "PATCH") {
        const range = req.headers["content-range"]
        let aligned = false
        if (range !== undefined) {
          const start = Number(/^(\d+)-/.exec(range)![1])
          aligned = start % 4096 === 0
          if (start !== current.length) {
            res.writeHead(416, { range: `0-${current.length - 1}` })
            return res.end()
          }
        }
        const keep = quirks.shortRange === true && aligned && body.length > 1
          ? body.subarray(0, Math.ceil(body.length / 2))
          : body
        const next = Buffer.concat([current, keep])
        sessions.set(id, next)
        res.writeHead(202, { location: `/upload/${repo}/${id}?_state=${next.length}`, range: `0-${next.length - 1}` })
        return res.end()
      }
      if (method === "PUT") {
        if (quirks.cutFirstPut === true) {
          quirks.cutFirstPut = false
          return req.socket.destroy()
        }
        const whole = Buffer.concat([current, body])
        const digest = url.searchParams.get("digest")
        if (quirks.rejectPut === true || digest !== sha256(whole)) {
          return ociError(res, 400, "DIGEST_INVALID", "provided digest did not match uploaded content")
        }
        sessions.delete(id)
        blobs.set(digest, whole)
        res.writeHead(201, { "docker-content-digest": digest, location: `/v2/${repo}/blobs/${digest}` })
        return res.end()
      }
    }
    if ((m = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/.exec(path)) !== null) {
      const found = blobs.get(m[2]!)
      if (found === undefined) return ociError(res, 404, "BLOB_UNKNOWN", "blob unknown")
      res.writeHead(200, { "content-length": found.length, "docker-content-digest": m[2]! })
      return res.end(method === "HEAD" ? undefined : found)
    }
    res.writeHead(404)
    res.end()
  }

  return Effect.map(serve(handler), (server) => ({ ...server, blobs, manifests, quirks }))
}
