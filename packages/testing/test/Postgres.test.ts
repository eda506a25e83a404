import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as net from "node:net"
import { Postgres, Tools } from "../src/index.js"

const psqlBin = () => {
  const base = "/usr/lib/postgresql"
  const v = fs.readdirSync(base).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a))[0]!
  return `${base}/${v}/bin/psql`
}

const connects = (port: number) =>
  Effect.promise(() =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port })
      socket.once("connect", () => {
        socket.destroy()
        resolve(true)
      })
      socket.once("error", () => resolve(false))
    })
  )

describe("Postgres", () => {
  it.live("starts on loopback with a fresh database, answers SQL, and is gone after the scope", () =>
    Effect.gen(function*() {
      const { pid, port, url } = yield* Effect.scoped(Effect.gen(function*() {
        const pg = yield* Postgres.start({ database: "probe" })
        assert.match(pg.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/probe$/)
        const result = yield* Tools.run(psqlBin(), [pg.url, "-tAc", "SELECT current_database() || ':' || 6*7"])
        assert.strictEqual(result.exitCode, 0, result.stderr)
        assert.strictEqual(result.stdout.trim(), "probe:42")
        return { pid: pg.pid, port: pg.port, url: pg.url }
      }))
      assert.isFalse(yield* connects(port), `${url} still accepts connections after the scope closed`)
      const alive = (() => {
        try {
          process.kill(-pid, 0)
          return true
        } catch {
          return false
        }
      })()
      assert.isFalse(alive, "the server's process group is still alive")
    }))
})
