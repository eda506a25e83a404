import { modeSuite } from "./support/registrySuite.js"

modeSuite("token", "fetch")
