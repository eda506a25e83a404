import { Hash, Reference } from "@ocidist/reference"
import * as NodeHash from "@ocidist/reference/NodeHash"
import { bench, describe } from "vitest"

const inputs = [
  "ubuntu",
  "ghcr.io/org/app:1.2.3",
  `localhost:5000/team/tool:v1@sha256:${"a".repeat(64)}`,
  "registry.example.com:443/a/b/c/d:some-long-tag",
  "Invalid/Name"
]

describe("Reference.parse", () => {
  bench("5 mixed references", () => {
    for (const input of inputs) Reference.parse(input)
  })
})

describe("Digest hashing", () => {
  const chunk = new Uint8Array(1024 * 1024).fill(1)
  for (const [name, service] of [["node:crypto", NodeHash.service], ["portable", Hash.portable]] as const) {
    bench(`sha256 of 16 MiB in 1 MiB chunks (${name})`, () => {
      const h = service.make("sha256")
      for (let i = 0; i < 16; i++) h.update(chunk)
      h.digest()
    }, { iterations: 5 })
  }
})
