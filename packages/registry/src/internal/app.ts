/**
 * The embedded registry's request handling: every endpoint of the OCI Distribution spec v1.1 over a
 * {@link RegistryStorage}, as one `HttpApp`. Paths are parsed here (repository names contain slashes);
 * failures become the spec's JSON error envelope.
 *
 * @internal
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Digest from "@ocidist/reference/Digest"
import * as Hash from "@ocidist/reference/Hash"
import type { Descriptor } from "@ocidist/spec/Descriptor"
import * as Manifest from "@ocidist/spec/Manifest"
import * as MediaType from "@ocidist/spec/MediaType"
import * as Storage from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Options } from "../Registry.js"
import type { RegistryStorage, RepositoryStore } from "../RegistryStorage.js"
import * as Auth from "./auth.js"
import * as Faults from "./faults.js"
import {
  type Code,
  type Failure,
  failure,
  isFailure,
  isName,
  isTag,
  page,
  parseContentRange,
  parseCount,
  parseRange,
  randomHex,
  respond,
  takeBytes
} from "./protocol.js"

type Response = HttpServerResponse.HttpServerResponse
type Request = HttpServerRequest.HttpServerRequest

interface Session {
  readonly id: string
  readonly repository: string
  size: number
  /** When a request last used it (ms): idle sessions are swept. */
  used: number
  /** Requests working on it now. */
  busy: number
  readonly hasher: Hash.Hasher
  readonly lock: Effect.Semaphore
}

export interface AppConfig<E> {
  readonly storage: RegistryStorage<E>
  readonly options: Options<E>
  /** The URL clients reach this registry at (`http://127.0.0.1:PORT`), known once it listens. */
  readonly baseUrl: () => string
  /** The second origin blob GETs are redirected to (`redirectBlobs` fault). */
  readonly blobOrigin: () => string | undefined
  readonly hash: Hash.Service
  /** Cuts the connection of a request (the `cutAfterBytes` fault); platform specific. */
  readonly abortConnection: (request: Request) => void
  /** A raw response body streaming bytes `start`..`end` (inclusive) of a file; platform specific. */
  readonly fileBody?: ((path: string, start: number, end: number) => unknown) | undefined
}

export interface App {
  readonly handle: Effect.Effect<Response, never, Request>
  /** The app of the second origin, which serves redirected blob GETs. */
  readonly blobOrigin: Effect.Effect<Response, never, Request>
}

/** Upload sessions idle this long are forgotten (with their bytes) when a new one starts. */
const SESSION_IDLE_MS = 60 * 60_000
/** Open upload sessions at most. */
const MAX_SESSIONS = 1024

const API_VERSION = { "docker-distribution-api-version": "registry/2.0" }
const OCTET = "application/octet-stream"

const randomId = () => {
  const hex = randomHex(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const empty = (status: number, headers: Record<string, string>): Response =>
  HttpServerResponse.empty({ status, headers: { ...API_VERSION, "content-length": "0", ...headers } })

/** Reads a request body into memory, failing past `limit` bytes (manifests). */
const readLimited = (request: Request, limit: number, what: Code): Effect.Effect<Uint8Array, Failure> =>
  Effect.gen(function*() {
    const declared = request.headers["content-length"]
    if (declared !== undefined && Number(declared) > limit) {
      return yield* Effect.fail(failure("SIZE_INVALID", `body larger than ${limit} bytes`, { status: 413 }))
    }
    const chunks: Array<Uint8Array> = []
    let total = 0
    let seen = 0
    const tooLarge = () => failure("SIZE_INVALID", `body larger than ${limit} bytes`, { status: 413 })
    // Past the limit the rest of the body is read and dropped (up to 16 times the limit): failing the stream
    // destroys the request, and with it the connection, before the client can read the 413.
    yield* Stream.runForEach(request.stream, (chunk) => {
      seen += chunk.length
      if (seen > limit * 16) return Effect.fail(tooLarge())
      if (seen > limit) return Effect.void
      total += chunk.length
      chunks.push(chunk)
      return Effect.void
    }).pipe(Effect.mapError((e) => isFailure(e) ? e : failure(what, "the request body failed before its end")))
    if (seen > limit) return yield* Effect.fail(tooLarge())
    const bytes = new Uint8Array(total)
    let at = 0
    for (const c of chunks) {
      bytes.set(c, at)
      at += c.length
    }
    return bytes
  })

/** A failure of the registry itself: the client gets what failed; the cause (paths, errno) is logged. */
const internal = (what: string) => (cause: unknown): Failure => ({
  ...failure("UNKNOWN", `internal error (${what}); the registry's log has the details`),
  cause
})

export const make = <E>(config: AppConfig<E>): App => {
  const { options, storage } = config
  const deletes = options.deletes !== false
  const autoMount = options.automaticCrossMount !== false
  const faults = Faults.make(options.faults)
  // the realm on the host the client reached (a registry listening on 0.0.0.0 has no single address)
  const access = Auth.make(options.auth, (headers) => {
    const host = headers["host"]
    return host !== undefined && /^[A-Za-z0-9.\-_:[\]]+$/.test(host)
      ? `http://${host}/token`
      : `${config.baseUrl()}/token`
  })
  const sessions = new Map<string, Session>()
  const redirects = new Map<string, { readonly repository: string; readonly digest: Digest.Digest; expires: number }>()

  /** A repository's store; `create` for writes (reads of a repository that does not exist keep nothing). */
  const repo = (name: string, create = false) =>
    Effect.mapError(storage.repository(name, { create }), internal(`storage of ${name}`))
  const orInternal = <A>(what: string) => (effect: Effect.Effect<A, E>) => Effect.mapError(effect, internal(what))

  const parseDigest = (value: string | null | undefined, what = "digest"): Effect.Effect<Digest.Digest, Failure> =>
    value !== null && value !== undefined && Digest.isDigest(value)
      ? Effect.succeed(value)
      : Effect.fail(failure("DIGEST_INVALID", `invalid ${what}: ${JSON.stringify(value ?? "")}`))

  // ---- manifests -------------------------------------------------------------------------------------

  const findManifest = (store: RepositoryStore<E>, reference: string) =>
    Effect.gen(function*() {
      if (Digest.isDigest(reference)) {
        return yield* orInternal<Option.Option<Manifest.Manifest>>("read a manifest")(store.manifest(reference))
      }
      if (!isTag(reference)) {
        return yield* Effect.fail(
          failure("MANIFEST_UNKNOWN", `invalid reference ${JSON.stringify(reference)}`, { status: 404 })
        )
      }
      const tagged = yield* orInternal<Option.Option<Descriptor>>("resolve a tag")(store.resolveTag(reference))
      if (Option.isNone(tagged)) return Option.none<Manifest.Manifest>()
      return yield* orInternal<Option.Option<Manifest.Manifest>>("read a manifest")(store.manifest(tagged.value.digest))
    })

  const accepts = (accept: string | undefined, mediaType: string) => {
    if (accept === undefined || accept.trim() === "") return true
    const types = accept.split(",").map((t) => MediaType.essence(t))
    return types.some((t) => t === "*/*" || t === "application/*" || t === mediaType)
  }

  const getManifest = (request: Request, name: string, reference: string, head: boolean) =>
    Effect.gen(function*() {
      const store = yield* repo(name)
      const found = yield* findManifest(store, reference)
      if (Option.isNone(found)) {
        return yield* Effect.fail(failure("MANIFEST_UNKNOWN", `manifest unknown: ${name}:${reference}`))
      }
      const manifest = found.value
      if (!accepts(request.headers["accept"], manifest.mediaType)) {
        return yield* Effect.fail(
          failure("MANIFEST_UNKNOWN", `the manifest is ${manifest.mediaType}, which the Accept header does not list`)
        )
      }
      const headers = {
        ...API_VERSION,
        "content-type": manifest.mediaType,
        "content-length": String(manifest.bytes.length),
        "docker-content-digest": manifest.digest,
        "etag": `"${manifest.digest}"`
      }
      return head
        ? HttpServerResponse.empty({ status: 200, headers })
        : HttpServerResponse.uint8Array(manifest.bytes, { status: 200, headers, contentType: manifest.mediaType })
    })

  const putManifest = (request: Request, name: string, reference: string) =>
    Effect.gen(function*() {
      const byDigest = Digest.isDigest(reference)
      if (!byDigest && !isTag(reference)) {
        return yield* Effect.fail(failure("TAG_INVALID", `invalid tag ${JSON.stringify(reference)}`))
      }
      const bytes = yield* readLimited(request, Manifest.MAX_BYTES, "MANIFEST_INVALID")
      const contentType = request.headers["content-type"]
      const manifest = yield* Either.match(
        Manifest.decode(bytes, {
          contentType,
          algorithm: byDigest ? Digest.algorithm(reference) : "sha256"
        }),
        {
          onLeft: (e) => Effect.fail(failure("MANIFEST_INVALID", `invalid manifest: ${e.message}`)),
          onRight: Effect.succeed
        }
      )
      if (
        contentType !== undefined && MediaType.isManifest(contentType) &&
        MediaType.essence(contentType) !== MediaType.essence(manifest.mediaType)
      ) {
        return yield* Effect.fail(
          failure("MANIFEST_INVALID", `Content-Type ${contentType} does not match the manifest's ${manifest.mediaType}`)
        )
      }
      if (byDigest && manifest.digest !== reference) {
        return yield* Effect.fail(
          failure("DIGEST_INVALID", `the manifest's digest is ${manifest.digest}, not ${reference}`)
        )
      }
      const store = yield* repo(name, true)
      const missing: Array<string> = []
      for (const child of Manifest.children(manifest)) {
        if ((child.urls?.length ?? 0) > 0) continue // non-distributable layers live elsewhere
        const present = MediaType.isManifest(child.mediaType)
          ? Option.isSome(
            yield* orInternal<Option.Option<Manifest.Manifest>>("read a manifest")(store.manifest(child.digest))
          )
          : Option.isSome(yield* orInternal<Option.Option<number>>("stat a blob")(store.blobSize(child.digest)))
        if (!present) missing.push(child.digest)
      }
      if (missing.length > 0) {
        return yield* Effect.fail(
          failure(
            "MANIFEST_BLOB_UNKNOWN",
            `the manifest references content this repository does not have: ${missing.join(", ")}`,
            {
              detail: { missing }
            }
          )
        )
      }
      const subject = Manifest.subject(manifest)
      yield* orInternal("store the manifest")(
        store.store.pushManifest(manifest, { tags: byDigest ? [] : [reference], root: subject !== undefined })
      )
      return empty(201, {
        "location": `/v2/${name}/manifests/${manifest.digest}`,
        "docker-content-digest": manifest.digest,
        // a registry without the referrers API does not acknowledge subjects: clients then keep the tag schema
        ...(subject === undefined || !faults.referrersApi ? {} : { "oci-subject": subject.digest })
      })
    })

  const deleteManifest = (name: string, reference: string) =>
    Effect.gen(function*() {
      if (!deletes) return yield* Effect.fail(failure("UNSUPPORTED", "deletes are disabled on this registry"))
      const store = yield* repo(name)
      if (Digest.isDigest(reference)) {
        const removed = yield* orInternal<boolean>("delete a manifest")(store.deleteManifest(reference))
        if (!removed) return yield* Effect.fail(failure("MANIFEST_UNKNOWN", `manifest unknown: ${name}@${reference}`))
        return empty(202, {})
      }
      if (!isTag(reference)) {
        return yield* Effect.fail(failure("TAG_INVALID", `invalid tag ${JSON.stringify(reference)}`))
      }
      const removed = yield* orInternal<boolean>("delete a tag")(store.untag(reference))
      if (!removed) return yield* Effect.fail(failure("MANIFEST_UNKNOWN", `tag unknown: ${name}:${reference}`))
      return empty(202, {})
    })

  // ---- blobs -----------------------------------------------------------------------------------------

  const serveBlob = (request: Request, name: string, digest: Digest.Digest, head: boolean) =>
    Effect.gen(function*() {
      const store = yield* repo(name)
      const size = yield* orInternal<Option.Option<number>>("stat a blob")(store.blobSize(digest))
      if (Option.isNone(size)) return yield* Effect.fail(failure("BLOB_UNKNOWN", `blob unknown: ${name}@${digest}`))
      const total = size.value
      const range = parseRange(request.headers["range"], total)
      const base = { ...API_VERSION, "docker-content-digest": digest, "accept-ranges": "bytes", "content-type": OCTET }
      if (range === "unsatisfiable") {
        return yield* Effect.fail(
          failure("RANGE_INVALID", `range ${request.headers["range"]} is outside the blob's ${total} bytes`, {
            status: 416,
            headers: { "content-range": `bytes */${total}` }
          })
        )
      }
      const start = range?.start ?? 0
      const length = range === undefined ? total : range.end - range.start + 1
      const headers = {
        ...base,
        "content-length": String(length),
        ...(range === undefined ? {} : { "content-range": `bytes ${range.start}-${range.end}/${total}` })
      }
      const status = range === undefined ? 200 : 206
      if (head || length === 0) return HttpServerResponse.empty({ status, headers })
      const file = store.blobPath?.(digest)
      if (file !== undefined && config.fileBody !== undefined && !faults.shapesBodies) {
        // the platform's own file streaming: no effect per buffer
        return HttpServerResponse.raw(config.fileBody(file, start, start + length - 1), {
          status,
          headers,
          contentType: OCTET,
          contentLength: length
        })
      }
      const descriptor = { mediaType: OCTET, digest, size: total }
      const body = faults.body(
        takeBytes(store.store.fetchBlob(descriptor, { offset: start }), length),
        () => config.abortConnection(request)
      )
      return HttpServerResponse.stream(body, { status, headers, contentType: OCTET, contentLength: length })
    })

  const getBlob = (request: Request, name: string, digest: Digest.Digest, head: boolean) =>
    Effect.gen(function*() {
      const origin = config.blobOrigin()
      if (!head && faults.redirectBlobs && origin !== undefined) {
        const store = yield* repo(name)
        const size = yield* orInternal<Option.Option<number>>("stat a blob")(store.blobSize(digest))
        if (Option.isNone(size)) return yield* Effect.fail(failure("BLOB_UNKNOWN", `blob unknown: ${name}@${digest}`))
        const key = randomId()
        const now = Date.now()
        for (const [old, target] of redirects) {
          if (target.expires >= now) break // insertion order is expiry order
          redirects.delete(old)
        }
        redirects.set(key, { repository: name, digest, expires: Date.now() + 10 * 60_000 })
        return empty(307, { location: `${origin}/blobs/${key}?X-Amz-Signature=${key}` })
      }
      return yield* serveBlob(request, name, digest, head)
    })

  const deleteBlob = (name: string, digest: Digest.Digest) =>
    Effect.gen(function*() {
      if (!deletes) return yield* Effect.fail(failure("UNSUPPORTED", "deletes are disabled on this registry"))
      const store = yield* repo(name)
      if (
        Option.isSome(yield* orInternal<Option.Option<Manifest.Manifest>>("read a manifest")(store.manifest(digest)))
      ) {
        return yield* Effect.fail(
          failure("UNSUPPORTED", `${digest} is a manifest: delete it with DELETE /v2/${name}/manifests/${digest}`)
        )
      }
      const removed = yield* orInternal<boolean>("delete a blob")(store.deleteBlob(digest))
      if (!removed) return yield* Effect.fail(failure("BLOB_UNKNOWN", `blob unknown: ${name}@${digest}`))
      return empty(202, {})
    })

  // ---- uploads ---------------------------------------------------------------------------------------

  const sessionHeaders = (name: string, session: Session) => ({
    "location": `/v2/${name}/blobs/uploads/${session.id}`,
    "range": `0-${Math.max(session.size - 1, 0)}`,
    "docker-upload-uuid": session.id
  })

  /** Forgets sessions idle for an hour (their bytes too); refuses a new one past MAX_SESSIONS open. */
  const newSession = (name: string) =>
    Effect.gen(function*() {
      const now = Date.now()
      for (const old of [...sessions.values()]) {
        if (now - old.used > SESSION_IDLE_MS && old.busy === 0) yield* dropSession(old)
      }
      if (sessions.size >= MAX_SESSIONS) {
        return yield* Effect.fail(
          failure("TOOMANYREQUESTS", `${sessions.size} uploads are open; finish or cancel some first`, {
            headers: { "retry-after": "60" }
          })
        )
      }
      const session: Session = {
        id: randomId(),
        repository: name,
        size: 0,
        used: now,
        busy: 0,
        hasher: config.hash.make("sha256"),
        lock: yield* Effect.makeSemaphore(1)
      }
      sessions.set(session.id, session)
      return session
    })

  const findSession = (name: string, id: string) =>
    Effect.suspend(() => {
      const session = sessions.get(id)
      if (session === undefined || session.repository !== name) {
        return Effect.fail(failure("BLOB_UPLOAD_UNKNOWN", `upload unknown: ${id}`))
      }
      session.used = Date.now()
      return Effect.succeed(session)
    })

  /** Runs `f` on a session alone (one request at a time), once it is known to be still open. */
  const withSession = <A>(
    name: string,
    id: string,
    f: (session: Session) => Effect.Effect<A, Failure>
  ): Effect.Effect<A, Failure> =>
    Effect.flatMap(
      findSession(name, id),
      (session) =>
        session.lock.withPermits(1)(
          Effect.suspend(() =>
            sessions.get(id) === session
              ? Effect.ensuring(
                Effect.suspend(() => {
                  session.busy++
                  return f(session)
                }),
                Effect.sync(() => {
                  session.busy--
                  session.used = Date.now()
                })
              )
              : Effect.fail(failure("BLOB_UPLOAD_UNKNOWN", `upload unknown: ${id} (it has just ended)`))
          )
        )
    )

  /** Appends the request body to a session, checking `Content-Range` against what it has. */
  const appendBody = (request: Request, name: string, session: Session) =>
    Effect.gen(function*() {
      const range = parseContentRange(request.headers["content-range"])
      const declared = request.headers["content-length"]
      if (range === "invalid") {
        return yield* Effect.fail(
          failure("BLOB_UPLOAD_INVALID", `invalid Content-Range ${request.headers["content-range"]}`)
        )
      }
      if (range !== undefined) {
        if (range.start !== session.size) {
          return yield* Effect.fail(
            failure("RANGE_INVALID", `the chunk starts at ${range.start}; the upload has ${session.size} bytes`, {
              status: 416,
              headers: sessionHeaders(name, session)
            })
          )
        }
        if (declared !== undefined && Number(declared) !== range.end - range.start + 1) {
          return yield* Effect.fail(
            failure(
              "RANGE_INVALID",
              `Content-Range ${request.headers["content-range"]} does not match Content-Length ${declared}`,
              {
                status: 416,
                headers: sessionHeaders(name, session)
              }
            )
          )
        }
      }
      // counted and hashed once stored: a body cut off leaves the session consistent, to be resumed from its
      // Range (GET of the session) or cancelled
      yield* storage.uploads.append(session.id, session.size, request.stream, (chunk) => {
        session.hasher.update(chunk)
        session.size += chunk.length
      }).pipe(
        Effect.mapError((e) =>
          (e as { readonly _tag?: unknown })._tag === "RequestError"
            ? failure(
              "BLOB_UPLOAD_INVALID",
              `the upload's body failed after ${session.size} bytes; resume from there or start again`,
              { headers: sessionHeaders(name, session) }
            )
            : internal("store the upload")(e)
        )
      )
    })

  const dropSession = (session: Session) =>
    Effect.suspend(() => {
      sessions.delete(session.id)
      return Effect.ignore(storage.uploads.remove(session.id))
    })

  /** Makes a session's bytes blob `digest` of the repository, checked; ends the session. */
  const commit = (name: string, session: Session, digest: Digest.Digest) =>
    Effect.gen(function*() {
      const actual = Digest.algorithm(digest) === "sha256"
        ? session.hasher.digest()
        : yield* orInternal<Digest.Digest>("hash the upload")(
          Digest.fromStream(storage.uploads.read(session.id), Digest.algorithm(digest)).pipe(
            Effect.map((r) => r.digest),
            Effect.provideService(Hash.Hash, config.hash)
          )
        )
      if (actual !== digest) {
        return yield* Effect.fail(failure("DIGEST_INVALID", `the upload's digest is ${actual}, not ${digest}`))
      }
      const store = yield* repo(name, true)
      const existing = yield* orInternal<Option.Option<number>>("stat a blob")(store.blobSize(digest))
      let done = Option.isSome(existing)
      if (!done && storage.uploads.adopt !== undefined) {
        done = yield* orInternal<boolean>("store the blob")(storage.uploads.adopt(session.id, name, digest))
      }
      if (!done) {
        yield* orInternal("store the blob")(
          store.store.pushBlob({ mediaType: OCTET, digest, size: session.size }, {
            open: (offset) => Storage.dropBytes(offset)(storage.uploads.read(session.id)),
            verified: true
          })
        )
      }
      yield* dropSession(session)
      return empty(201, { "location": `/v2/${name}/blobs/${digest}`, "docker-content-digest": digest })
    }).pipe(Effect.onError(() => dropSession(session)))

  const mount = (name: string, digest: Digest.Digest, from: string | undefined, request: Request) =>
    Effect.gen(function*() {
      if (from === undefined && autoMount) {
        const here = yield* repo(name)
        if (Option.isSome(yield* orInternal<Option.Option<number>>("stat a blob")(here.blobSize(digest)))) return true
      }
      const candidates = from !== undefined
        ? [from]
        : autoMount
        ? (yield* orInternal<ReadonlyArray<string>>("list repositories")(storage.repositories)).filter((r) =>
          r !== name
        )
        : []
      for (const source of candidates) {
        if (!isName(source) || source === name) continue
        if (access.check({ _tag: "Repository", name: source, actions: ["pull"] }, request.headers) !== undefined) {
          continue
        }
        if (!(yield* orInternal<boolean>("find a repository")(storage.hasRepository(source)))) continue
        const sourceStore = yield* repo(source)
        const size = yield* orInternal<Option.Option<number>>("stat a blob")(sourceStore.blobSize(digest))
        if (Option.isNone(size)) continue
        const target = yield* repo(name, true)
        const linked =
          Option.isSome(yield* orInternal<Option.Option<number>>("stat a blob")(target.blobSize(digest))) ||
          (storage.linkBlob !== undefined &&
            (yield* orInternal<boolean>("mount the blob")(storage.linkBlob(source, name, digest))))
        if (!linked) {
          const descriptor = { mediaType: OCTET, digest, size: size.value }
          yield* orInternal("mount the blob")(
            target.store.pushBlob(descriptor, {
              open: (offset) => sourceStore.store.fetchBlob(descriptor, { offset }),
              verified: false
            })
          )
        }
        return true
      }
      return false
    })

  const startUpload = (request: Request, name: string, query: URLSearchParams) =>
    Effect.gen(function*() {
      const mountDigest = query.get("mount")
      if (mountDigest !== null) {
        const digest = yield* parseDigest(mountDigest, "mount digest")
        const from = query.get("from") ?? undefined
        if (yield* mount(name, digest, from === "" ? undefined : from, request)) {
          return empty(201, { "location": `/v2/${name}/blobs/${digest}`, "docker-content-digest": digest })
        }
      }
      const session = yield* newSession(name)
      const digestParam = query.get("digest")
      if (digestParam !== null && mountDigest === null) {
        const digest = yield* Effect.tapError(parseDigest(digestParam), () => dropSession(session))
        yield* appendBody(request, name, session)
        return yield* commit(name, session, digest)
      }
      return empty(202, sessionHeaders(name, session))
    })

  const patchUpload = (request: Request, name: string, id: string) =>
    withSession(name, id, (session) =>
      Effect.gen(function*() {
        yield* appendBody(request, name, session)
        return empty(202, sessionHeaders(name, session))
      }))

  const putUpload = (request: Request, name: string, id: string, query: URLSearchParams) =>
    withSession(name, id, (session) =>
      Effect.gen(function*() {
        const digest = yield* parseDigest(query.get("digest"))
        yield* appendBody(request, name, session)
        return yield* commit(name, session, digest)
      }))

  const uploadStatus = (name: string, id: string) =>
    Effect.map(findSession(name, id), (session) => empty(204, sessionHeaders(name, session)))

  const cancelUpload = (name: string, id: string) =>
    withSession(name, id, (session) => Effect.as(dropSession(session), empty(204, {})))

  // ---- listings --------------------------------------------------------------------------------------

  const pageHeaders = (path: string, n: number | undefined, items: ReadonlyArray<string>, more: boolean) =>
    more && n !== undefined && items.length > 0
      ? { link: `<${path}?n=${n}&last=${encodeURIComponent(items[items.length - 1]!)}>; rel="next"` }
      : {}

  const listTags = (name: string, query: URLSearchParams) =>
    Effect.gen(function*() {
      const n = parseCount(query.get("n"))
      if (n === "invalid") {
        return yield* Effect.fail(failure("PAGINATION_NUMBER_INVALID", `invalid n ${query.get("n")}`))
      }
      if (!(yield* orInternal<boolean>("find a repository")(storage.hasRepository(name)))) {
        return yield* Effect.fail(failure("NAME_UNKNOWN", `repository unknown: ${name}`))
      }
      const store = yield* repo(name)
      const tags = [...(yield* orInternal<ReadonlyArray<string>>("list tags")(store.tags))].sort()
      const { items, more } = page(tags, n, query.get("last"))
      return HttpServerResponse.unsafeJson({ name, tags: items }, {
        headers: { ...API_VERSION, ...pageHeaders(`/v2/${name}/tags/list`, n, items, more) }
      })
    })

  const catalog = (query: URLSearchParams) =>
    Effect.gen(function*() {
      const n = parseCount(query.get("n"))
      if (n === "invalid") {
        return yield* Effect.fail(failure("PAGINATION_NUMBER_INVALID", `invalid n ${query.get("n")}`))
      }
      const names = [...(yield* orInternal<ReadonlyArray<string>>("list repositories")(storage.repositories))].sort()
      const { items, more } = page(names, n, query.get("last"))
      return HttpServerResponse.unsafeJson({ repositories: items }, {
        headers: { ...API_VERSION, ...pageHeaders("/v2/_catalog", n, items, more) }
      })
    })

  const referrers = (name: string, digest: Digest.Digest, query: URLSearchParams) =>
    Effect.gen(function*() {
      if (!faults.referrersApi) {
        return yield* Effect.fail(failure("UNSUPPORTED", "the referrers API is switched off", { status: 404 }))
      }
      const artifactType = query.get("artifactType")
      const all = (yield* orInternal<boolean>("find a repository")(storage.hasRepository(name)))
        ? yield* orInternal<ReadonlyArray<Descriptor>>("list referrers")((yield* repo(name)).referrers(digest))
        : []
      const manifests = artifactType === null ? all : all.filter((d) => d.artifactType === artifactType)
      return HttpServerResponse.unsafeJson(
        { schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests },
        {
          contentType: MediaType.OCI_INDEX,
          headers: { ...API_VERSION, ...(artifactType === null ? {} : { "oci-filters-applied": "artifactType" }) }
        }
      )
    })

  // ---- routing ---------------------------------------------------------------------------------------

  type Route = {
    readonly kind: Faults.Kind
    readonly need: Auth.Need
    readonly run: Effect.Effect<Response, Failure>
  }

  const routes: ReadonlyArray<{
    readonly pattern: RegExp
    readonly route: (request: Request, match: RegExpExecArray, query: URLSearchParams) => Route | Failure
  }> = [
    {
      pattern: /^\/v2\/(.+)\/blobs\/uploads\/?$/,
      route: (request, [, name], query) =>
        request.method === "POST"
          ? {
            kind: "uploads",
            need: { _tag: "Repository", name: name!, actions: ["pull", "push"] },
            run: startUpload(request, name!, query)
          }
          : notAllowed(request.method)
    },
    {
      pattern: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/,
      route: (request, [, name, id], query) => {
        const need: Auth.Need = { _tag: "Repository", name: name!, actions: ["pull", "push"] }
        switch (request.method) {
          case "PATCH":
            return { kind: "uploads", need, run: patchUpload(request, name!, id!) }
          case "PUT":
            return { kind: "uploads", need, run: putUpload(request, name!, id!, query) }
          case "GET":
            return { kind: "uploads", need, run: uploadStatus(name!, id!) }
          case "DELETE":
            return { kind: "uploads", need, run: cancelUpload(name!, id!) }
          default:
            return notAllowed(request.method)
        }
      }
    },
    {
      pattern: /^\/v2\/(.+)\/blobs\/([^/]+)$/,
      route: (request, [, name, reference]) => {
        const digest = parseDigest(reference)
        switch (request.method) {
          case "GET":
          case "HEAD":
            return {
              kind: "blobs",
              need: { _tag: "Repository", name: name!, actions: ["pull"] },
              run: Effect.flatMap(digest, (d) => getBlob(request, name!, d, request.method === "HEAD"))
            }
          case "DELETE":
            return {
              kind: "blobs",
              need: { _tag: "Repository", name: name!, actions: ["delete"] },
              run: Effect.flatMap(digest, (d) => deleteBlob(name!, d))
            }
          default:
            return notAllowed(request.method)
        }
      }
    },
    {
      pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/,
      route: (request, [, name, reference]) => {
        switch (request.method) {
          case "GET":
          case "HEAD":
            return {
              kind: "manifests",
              need: { _tag: "Repository", name: name!, actions: ["pull"] },
              run: getManifest(request, name!, reference!, request.method === "HEAD")
            }
          case "PUT":
            return {
              kind: "manifests",
              need: { _tag: "Repository", name: name!, actions: ["pull", "push"] },
              run: putManifest(request, name!, reference!)
            }
          case "DELETE":
            return {
              kind: "manifests",
              need: { _tag: "Repository", name: name!, actions: ["delete"] },
              run: deleteManifest(name!, reference!)
            }
          default:
            return notAllowed(request.method)
        }
      }
    },
    {
      pattern: /^\/v2\/(.+)\/tags\/list$/,
      route: (request, [, name], query) =>
        request.method === "GET" || request.method === "HEAD"
          ? { kind: "tags", need: { _tag: "Repository", name: name!, actions: ["pull"] }, run: listTags(name!, query) }
          : notAllowed(request.method)
    },
    {
      pattern: /^\/v2\/(.+)\/referrers\/([^/]+)$/,
      route: (request, [, name, reference], query) =>
        request.method === "GET"
          ? {
            kind: "referrers",
            need: { _tag: "Repository", name: name!, actions: ["pull"] },
            run: Effect.flatMap(parseDigest(reference), (d) => referrers(name!, d, query))
          }
          : notAllowed(request.method)
    }
  ]

  const notAllowed = (method: string) => failure("UNSUPPORTED", `method ${method} is not allowed here`)

  const routeOf = (request: Request, path: string, query: URLSearchParams): Route | Failure => {
    if (path === "/v2" || path === "/v2/") {
      return request.method === "GET" || request.method === "HEAD"
        ? {
          kind: "other",
          need: { _tag: "None" },
          run: Effect.succeed(HttpServerResponse.unsafeJson({}, { headers: API_VERSION }))
        }
        : notAllowed(request.method)
    }
    if (path === "/v2/_catalog") {
      return request.method === "GET"
        ? { kind: "other", need: { _tag: "Catalog" }, run: catalog(query) }
        : notAllowed(request.method)
    }
    for (const { pattern, route } of routes) {
      const match = pattern.exec(path)
      if (match === null) continue
      if (!isName(match[1]!)) {
        return failure("NAME_INVALID", `invalid repository name ${JSON.stringify(match[1]!.slice(0, 300))}`)
      }
      const refused = storage.refuseName?.(match[1]!)
      if (refused !== undefined) return failure("NAME_INVALID", `repository name ${match[1]!} refused: ${refused}`)
      return route(request, match, query)
    }
    return failure("UNSUPPORTED", `no such endpoint: ${request.method} ${path.slice(0, 300)}`, { status: 404 })
  }

  const withLog = (request: Request, path: string, response: Effect.Effect<Response, never>) =>
    Effect.gen(function*() {
      const started = Date.now()
      const result = yield* response
      yield* Effect.logDebug("registry request").pipe(
        Effect.annotateLogs({
          method: request.method,
          path,
          status: result.status,
          bytes: result.headers["content-length"] ?? "",
          ms: Date.now() - started
        })
      )
      return result
    })

  const handle: Effect.Effect<Response, never, Request> = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const url = new URL(request.url, "http://registry")
    let path: string
    try {
      path = decodeURIComponent(url.pathname)
    } catch {
      return respond(failure("NAME_INVALID", "the request path is not valid percent-encoding", { status: 400 }))
    }
    const query = url.searchParams
    const run = Effect.gen(function*() {
      if (path === "/token" && access.tokenEndpoint !== undefined) {
        return yield* access.tokenEndpoint(request.headers, query)
      }
      const route = routeOf(request, path, query)
      if (isFailure(route)) return respond(route)
      const denied = access.check(route.need, request.headers)
      if (denied !== undefined) return respond(denied)
      const injected = yield* faults.before(route.kind, request.method)
      if (injected !== undefined) return respond(injected)
      return yield* route.run.pipe(
        Effect.catchAllDefect((defect) => Effect.fail(internal("an unexpected defect")(defect))),
        Effect.catchAll((f) =>
          Effect.as(
            f.cause === undefined ? Effect.void : Effect.logWarning("registry internal error", f.cause).pipe(
              Effect.annotateLogs({ method: request.method, path })
            ),
            respond(f)
          )
        )
      )
    })
    return yield* withLog(request, path, run)
  })

  const blobOrigin: Effect.Effect<Response, never, Request> = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const url = new URL(request.url, "http://registry")
    const match = /^\/blobs\/([^/]+)$/.exec(url.pathname)
    const target = match === null ? undefined : redirects.get(match[1]!)
    if (target === undefined || target.expires < Date.now()) {
      return respond(failure("DENIED", "unknown or expired blob link", { status: 403 }))
    }
    if (request.headers["authorization"] !== undefined) {
      // a client that sends its registry credentials to another origin is what this fault is there to catch
      return respond(failure("DENIED", "credentials sent to the blob origin", { status: 400 }))
    }
    return yield* serveBlob(request, target.repository, target.digest, request.method === "HEAD").pipe(
      Effect.catchAll((f) => Effect.succeed(respond(f)))
    )
  })

  return { handle, blobOrigin }
}
