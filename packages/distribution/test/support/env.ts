/**
 * A real docker-registry (via @ocidist/testing) and a client built with the real auth layers.
 */
import * as Credentials from "@ocidist/auth/Credentials"
import { Digest, Reference } from "@ocidist/reference"
import { DockerRegistry, Tools } from "@ocidist/testing"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { createCipheriv } from "node:crypto"
import * as fs from "node:fs"
import type * as RegistryClient from "../../src/RegistryClient.js"
import { anonymous, client, credentials as credentialsLayer, type Http } from "./server.js"

export interface Env {
  readonly registry: DockerRegistry.Instance
  readonly client: RegistryClient.Service
  readonly dir: string
  readonly ref: (rest: string) => Reference.Reference
  readonly credsArgs: ReadonlyArray<string>
  readonly http: Http
}

export class TestEnv extends Context.Tag("TestEnv")<TestEnv, Env>() {}

export const layer = (
  mode: DockerRegistry.Mode,
  options: RegistryClient.Options = {},
  http: Http = "undici"
): Layer.Layer<TestEnv> =>
  Layer.scoped(
    TestEnv,
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode })
      const writer = registry.writer
      const credentials = writer === undefined
        ? anonymous
        : credentialsLayer({ [registry.host]: Credentials.basic(writer.username, writer.password) })
      const rc = yield* client(options, credentials, http)
      const dir = yield* Tools.tempDir("ocidist-distribution-")
      return {
        registry,
        client: rc,
        dir,
        ref: (rest: string) => Either.getOrThrow(Reference.parse(`${registry.host}/${rest}`)),
        credsArgs: writer === undefined ? [] : ["--creds", `${writer.username}:${writer.password}`],
        http
      }
    }).pipe(Effect.orDie)
  )

/** A file as a re-runnable stream. */
export const fileStream = (path: string): Stream.Stream<Uint8Array, Error> =>
  Stream.suspend(() =>
    Stream.fromAsyncIterable(
      fs.createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>,
      (e) => e instanceof Error ? e : new Error(String(e))
    )
  )

const CHUNK = 1024 * 1024

/** Deterministic incompressible bytes (AES-CTR keystream), generated 1 MiB at a time, never held whole. */
export const generated = (size: number, seed: string): Stream.Stream<Uint8Array> =>
  Stream.suspend(() => {
    const key = Buffer.alloc(16)
    key.write(seed.slice(0, 16))
    const cipher = createCipheriv("aes-128-ctr", key, Buffer.alloc(16))
    const zeros = Buffer.alloc(CHUNK)
    const count = Math.ceil(size / CHUNK)
    return Stream.map(Stream.range(0, count - 1), (i) => {
      const n = i === count - 1 ? size - i * CHUNK : CHUNK
      return new Uint8Array(cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n)))
    })
  })

export const digestOf = (stream: Stream.Stream<Uint8Array>) => Digest.fromStream(stream)
