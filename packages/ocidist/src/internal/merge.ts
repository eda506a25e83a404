/**
 * Layer merging (`export`, `flatten`): an image's layers, read as tar streams (gzip, zstd or plain), merged
 * into one filesystem tar with the OCI whiteouts applied (`.wh.<name>` deletes `<name>` of the layers below,
 * `.wh..wh..opq` hides what the layers below hold in its directory).
 *
 * Two passes, memory bounded by the number of paths (never by contents): the first reads the layers from
 * the top down and decides, from paths alone, which entry of which layer survives; the second reads them
 * again from the bottom up and streams the surviving entries (headers rewritten, data passed through), so
 * that directories and hard link targets come before what needs them.
 *
 * The tar reader is strict: header checksums, numeric fields, sizes, truncated entries, extended headers (PAX,
 * GNU long names) of at most {@link MAX_META} bytes. Paths are normalised as crane and umoci do (a leading `/`
 * dropped, `.` and `..` resolved); a `..` that escapes the root fails with `InvalidLayer`. Entries below a
 * non-directory (`l -> /etc`, then `l/passwd`) are dropped: no entry of the output goes through a symlink.
 * Device files, FIFOs and symlinks are kept as tar entries (a tar is not a filesystem: nothing is created).
 *
 * @internal
 */
import * as Tar from "@ocidist/layout/Tar"
import * as Digest from "@ocidist/reference/Digest"
import type { DigestMismatch } from "@ocidist/reference/ReferenceError"
import type * as Descriptor from "@ocidist/spec/Descriptor"
import type * as Storage from "@ocidist/spec/Storage"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { CompressionFailed, CompressionUnavailable } from "../OcidistError.js"
import { InvalidLayer } from "../OcidistError.js"
import * as Compression from "./compression.js"

/** @internal */
export const BLOCK = Tar.BLOCK

/** The largest extended header (a PAX header, a GNU long name or link name) read: 1 MiB. @internal */
export const MAX_META = Tar.MAX_META

/** One entry's header, its path normalised (see {@link cleanPath}); a hard link's target normalised too. @internal */
export type Header = Tar.Header

/** What the reader produces: an entry's header, then its data in pieces. @internal */
export type Event = Tar.Event

/** How reading a layer fails, beyond its store's errors. @internal */
export type LayerError = InvalidLayer | CompressionFailed | CompressionUnavailable | DigestMismatch

/**
 * Normalises an entry path as crane and umoci do: a leading `/` dropped, `.` segments and empty ones dropped,
 * `..` resolved; `undefined` when a `..` climbs above the root.
 *
 * @internal
 */
export const cleanPath = (raw: string): string | undefined => {
  const parts: Array<string> = []
  for (const segment of raw.split("/")) {
    if (segment === "" || segment === ".") continue
    if (segment === "..") {
      if (parts.length === 0) return undefined
      parts.pop()
      continue
    }
    parts.push(segment)
  }
  return parts.join("/")
}

/** An entry's header with its path (and a hard link's target) normalised, or an error detail. */
const normalise = (header: Tar.Header): Tar.Header | string => {
  const path = cleanPath(header.path)
  if (path === undefined) return `the entry ${JSON.stringify(header.path)} climbs out of the root with ..`
  if (header.typeflag !== "1") return path === header.path ? header : { ...header, path }
  const linkname = cleanPath(header.linkname)
  if (linkname === undefined || linkname === "") {
    return `the hard link ${JSON.stringify(header.path)} points at ${JSON.stringify(header.linkname)}, outside the root`
  }
  return { ...header, path, linkname }
}

/** The header blocks of an entry (see `Tar.encode`). @internal */
export const encodeHeader = (h: Header): Uint8Array => Tar.encode(h)

// ---------------------------------------------------------------------------------------------------------
// reading layers

/** A layer's tar entries as events: fetched, verified, decompressed (by its magic bytes), parsed. @internal */
export const layerEvents = <E>(
  store: Storage.ReadOnlyStorage<E>,
  layer: Descriptor.Descriptor
): Stream.Stream<Event, E | InvalidLayer | LayerError> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const subject = `layer ${layer.digest} of ${store.name}`
    const fetched = store.fetchBlob(layer)
    const verified = store.verifiesBlobs ? fetched : Digest.verifyStream(layer.digest, subject)(fetched)
    const [head, whole] = yield* Compression.peek(verified, 4)
    const compression = Compression.sniff(head)
    const codecs = yield* Compression.CodecsRef
    if (compression !== "none") yield* codecs.check(compression)
    const plain = compression === "none" ? whole : codecs.decompress(compression, subject)(whole)
    const invalid = (detail: string) => new InvalidLayer({ location: store.name, digest: layer.digest, detail })
    // a bad path fails the stream at once, as a malformed tar does (`Tar.events`)
    return Stream.mapChunksEffect(Tar.events(invalid)(plain), (chunk) => {
      const out: Array<Event> = []
      for (const event of chunk) {
        if (event._tag !== "Entry") {
          out.push(event)
          continue
        }
        const header = normalise(event.header)
        if (typeof header === "string") return Effect.fail(invalid(header))
        out.push(header === event.header ? event : { _tag: "Entry" as const, header })
      }
      return Effect.succeed(Chunk.unsafeFromArray(out))
    })
  }))

// ---------------------------------------------------------------------------------------------------------
// merging

interface Survivor {
  readonly layer: number
  readonly ordinal: number
  readonly dir: boolean
}

const parentOf = (path: string): string => {
  const slash = path.lastIndexOf("/")
  return slash < 0 ? "" : path.slice(0, slash)
}

/** Every proper ancestor of a path, nearest first (never the root `""`). */
const ancestors = function*(path: string): Generator<string> {
  let p = parentOf(path)
  while (p !== "") {
    yield p
    p = parentOf(p)
  }
}

const WHITEOUT = ".wh."
const OPAQUE = ".wh..wh..opq"

/**
 * The merged filesystem of layers (bottom first, as a manifest lists them) as a tar stream: whiteouts
 * applied, two passes over the layers (see the module's comment).
 *
 * @internal
 */
export const merge = <E>(
  store: Storage.ReadOnlyStorage<E>,
  layers: ReadonlyArray<Descriptor.Descriptor>
): Stream.Stream<Uint8Array, E | InvalidLayer | LayerError> =>
  Stream.unwrap(Effect.gen(function*() {
    // pass 1, top down: which (layer, ordinal) holds each path of the merged tree
    const final = new Map<string, Survivor>()
    const hidden = new Set<string>()
    const opaque = new Set<string>()
    const implied = new Set<string>()
    const shadowed = (path: string, dir: boolean): boolean => {
      if (final.has(path) || hidden.has(path) || (!dir && implied.has(path))) return true
      for (const a of ancestors(path)) {
        if (hidden.has(a) || opaque.has(a) || final.get(a)?.dir === false) return true
      }
      return false
    }
    // hard links whose target a layer above replaced or deleted: the target's version they saw (the entry at
    // `layer:ordinal`) is written under their names instead, the first with the data, the others linked to it
    const pending = new Map<string, Array<string>>()
    const promoted = new Map<string, Array<string>>()
    const deletedBy = (path: string, whiteouts: ReadonlySet<string>, opaques: ReadonlySet<string>): boolean => {
      if (whiteouts.has(path) || opaques.has("")) return true
      for (const a of ancestors(path)) if (whiteouts.has(a) || opaques.has(a)) return true
      return false
    }
    for (let i = layers.length - 1; i >= 0; i--) {
      const local = new Map<
        string,
        { ordinal: number; dir: boolean; file: boolean; link: string | undefined }
      >()
      const whiteouts: Array<string> = []
      const opaques: Array<string> = []
      let ordinal = 0
      yield* Stream.runForEach(layerEvents(store, layers[i]!), (event) =>
        Effect.sync(() => {
          if (event._tag !== "Entry") return
          ordinal++
          const path = event.header.path
          if (path === "") return
          const parent = parentOf(path)
          const base = path.slice(parent === "" ? 0 : parent.length + 1)
          if (base === OPAQUE) opaques.push(parent)
          else if (base.startsWith(WHITEOUT)) {
            const target = base.slice(WHITEOUT.length)
            if (target !== "" && target !== "." && target !== "..") {
              whiteouts.push(parent === "" ? target : `${parent}/${target}`)
            }
          } else {
            const type = event.header.typeflag
            local.set(path, {
              ordinal,
              dir: type === "5",
              file: type === "0" || type === "7",
              link: type === "1" ? event.header.linkname : undefined
            })
          }
        }))
      const survivors: Array<readonly [string, Survivor]> = []
      for (const [path, entry] of local) {
        if (!shadowed(path, entry.dir)) survivors.push([path, { layer: i, ordinal: entry.ordinal, dir: entry.dir }])
      }
      // links of the layers above waiting for this layer's version of their target
      for (const [target, names] of pending) {
        const source = local.get(target)
        if (source === undefined) continue
        pending.delete(target)
        if (source.file) promoted.set(`${i}:${source.ordinal}`, names)
      }
      const whiteoutSet = new Set(whiteouts)
      const opaqueSet = new Set(opaques)
      for (const target of pending.keys()) if (deletedBy(target, whiteoutSet, opaqueSet)) pending.delete(target)
      // this layer's links to a target replaced or deleted above
      for (const [path] of survivors) {
        const target = local.get(path)?.link
        if (target === undefined || !shadowed(target, false)) continue
        const source = local.get(target)
        if (source !== undefined) {
          // the version of this layer, before or after the link (a link may precede its target in a tar)
          if (!source.file) continue
          const key = `${i}:${source.ordinal}`
          promoted.set(key, [...(promoted.get(key) ?? []), path])
        } else if (!deletedBy(target, whiteoutSet, opaqueSet)) {
          pending.set(target, [...(pending.get(target) ?? []), path])
        }
      }
      for (const [path, survivor] of survivors) final.set(path, survivor)
      for (const path of [...local.keys(), ...whiteouts, ...opaques]) {
        for (const a of ancestors(path)) {
          if (implied.has(a)) break
          implied.add(a)
        }
      }
      // an opaque root (`.wh..wh..opq` at the top): nothing of the layers below survives
      for (const path of opaques) opaque.add(path)
      for (const path of whiteouts) hidden.add(path)
      if (opaque.has("")) break
    }
    // an entry below a non-directory of the merged tree (a symlink `l`, then `l/passwd`) is dropped
    const underNonDirectory = (path: string): boolean => {
      for (const a of ancestors(path)) if (final.get(a)?.dir === false) return true
      return false
    }

    // a hard link is kept when its target is a file of the merged tree of this layer or one below (written
    // after its target when the layer lists it first); one whose target a layer above replaced or deleted is
    // written from the version it saw (see `promoted`: this layer's, before or after it, or one below), or left
    // out when there is none (it would link to nothing)
    const linkable = (target: string, i: number): boolean => {
      const survivor = final.get(target)
      return survivor !== undefined && !survivor.dir && survivor.layer <= i && !underNonDirectory(target)
    }

    // pass 2, bottom up: the surviving entries, headers rewritten, data passed through
    const pass = (i: number): Stream.Stream<Uint8Array, E | InvalidLayer | LayerError> =>
      Stream.suspend(() => {
        let ordinal = 0
        let keep = false
        let left = 0
        let size = 0
        // hard links to the entry being written, once its data is
        let after: Array<Uint8Array> = []
        // hard links listed before their target in this layer, by target: written right after it (tar readers
        // create a link from a target that exists; only headers are held, never data). Those whose target
        // never comes (a cycle of links) are left out.
        const deferred = new Map<string, Array<Header>>()
        const waiting = new Set<string>()
        const release = (names: ReadonlyArray<string>): Array<Uint8Array> => {
          const out: Array<Uint8Array> = []
          const stack = [...names]
          while (stack.length > 0) {
            const name = stack.pop()!
            const links = deferred.get(name)
            if (links === undefined) continue
            deferred.delete(name)
            for (const link of links) {
              waiting.delete(link.path)
              out.push(encodeHeader(link))
              stack.push(link.path)
            }
          }
          return out
        }
        return Stream.mapConcat(layerEvents(store, layers[i]!), (event): ReadonlyArray<Uint8Array> => {
          if (event._tag === "Entry") {
            ordinal++
            const h = event.header
            const survivor = final.get(h.path)
            const names = (promoted.get(`${i}:${ordinal}`) ?? []).filter((name) => !underNonDirectory(name))
            const own = survivor !== undefined && survivor.layer === i && survivor.ordinal === ordinal &&
              !underNonDirectory(h.path) &&
              (h.typeflag !== "1" || linkable(h.linkname, i))
            if (own && h.typeflag === "1") {
              const target = final.get(h.linkname)!
              if ((target.layer === i && target.ordinal > ordinal) || waiting.has(h.linkname)) {
                deferred.set(h.linkname, [...(deferred.get(h.linkname) ?? []), h])
                waiting.add(h.path)
                keep = false
                left = 0
                return []
              }
            }
            const written = own ? h.path : names.shift()
            keep = written !== undefined
            left = h.size
            size = h.size
            if (written === undefined) return []
            after = names.map((name) =>
              encodeHeader({ ...h, path: name, typeflag: "1", size: 0, linkname: written, extra: [] })
            )
            after.push(...release([written, ...names]))
            const header = encodeHeader(written === h.path ? h : { ...h, path: written })
            if (size > 0) return [header]
            const out = [header, ...after]
            after = []
            return out
          }
          left -= event.bytes.length
          if (!keep) return []
          if (left > 0) return [event.bytes]
          const pad = (BLOCK - (size % BLOCK)) % BLOCK
          const out = pad > 0 ? [event.bytes, new Uint8Array(pad), ...after] : [event.bytes, ...after]
          after = []
          return out
        })
      })
    const order: Array<number> = []
    for (let i = 0; i < layers.length; i++) order.push(i)
    return Stream.concat(
      Stream.flatMap(Stream.fromIterable(order), pass),
      Stream.succeed(new Uint8Array(BLOCK * 2))
    )
  }))
