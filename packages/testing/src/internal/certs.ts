import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as TestHarnessError from "../TestHarnessError.js"
import * as Tools from "../Tools.js"

export interface KeyPair {
  readonly keyPem: string
  readonly certPem: string
}

export type KeyKind = "rsa" | "ec"

const cache = new Map<string, Promise<KeyPair>>()

const generate = (
  kind: KeyKind,
  cn: string,
  san: string | undefined
): Effect.Effect<KeyPair, TestHarnessError.TestHarnessError> =>
  Effect.acquireUseRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "ocidist-cert-"))),
    (dir) =>
      Effect.gen(function*() {
        const openssl = yield* Tools.requireBinary("openssl")
        const keyPath = path.join(dir, "key.pem")
        const certPath = path.join(dir, "cert.pem")
        const newkey = kind === "rsa"
          ? ["-newkey", "rsa:2048"]
          : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        const ext = san === undefined ? [] : ["-addext", `subjectAltName=${san}`]
        yield* Tools.runOk(openssl, [
          "req",
          "-x509",
          ...newkey,
          "-nodes",
          "-sha256",
          "-days",
          "3650",
          "-subj",
          `/CN=${cn}`,
          ...ext,
          "-keyout",
          keyPath,
          "-out",
          certPath
        ], { timeoutMs: 30_000 })
        return { keyPem: fs.readFileSync(keyPath, "utf8"), certPem: fs.readFileSync(certPath, "utf8") }
      }),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

/**
 * A self-signed key pair, generated once per process and kind (keys are test-only; re-using them makes
 * starting many registries cheap).
 */
export const selfSigned = (
  kind: KeyKind,
  cn: string,
  san?: string
): Effect.Effect<KeyPair, TestHarnessError.TestHarnessError> =>
  Effect.suspend(() => {
    const key = `${kind}|${cn}|${san ?? ""}`
    let pending = cache.get(key)
    if (pending === undefined) {
      pending = Effect.runPromise(Effect.either(generate(kind, cn, san))).then((result) => {
        if (result._tag === "Left") {
          cache.delete(key)
          throw result.left
        }
        return result.right
      })
      cache.set(key, pending)
    }
    const p = pending
    return Effect.tryPromise({
      try: () => p,
      catch: (error) =>
        error instanceof TestHarnessError.TestHarnessError
          ? error
          : TestHarnessError.make("key generation failed", error)
    })
  })

/** TLS certificate for IP 127.0.0.1 and DNS localhost. */
export const tlsPair = selfSigned("ec", "localhost", "IP:127.0.0.1,DNS:localhost")

/** libtrust key ID: SHA-256 of the DER SPKI, first 240 bits, base32, 12 groups of 4 joined by ':'. */
export const libtrustKeyId = (publicKey: crypto.KeyObject): string => {
  const der = publicKey.export({ type: "spki", format: "der" })
  const sum = crypto.createHash("sha256").update(der).digest().subarray(0, 30)
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
  let bits = 0
  let value = 0
  let out = ""
  for (const byte of sum) {
    value = ((value << 8) | byte) & 0xffff
    bits += 8
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31]
  return (out.match(/.{1,4}/g) ?? []).join(":")
}

export const certificatesOf = (pem: string): Array<string> =>
  [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) =>
    (m[1] ?? "").replace(/\s+/g, "")
  )
