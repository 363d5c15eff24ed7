// Runs tests/firmware/test_logic.py under real MicroPython (the WebAssembly port) in Node.
// The firmware modules go where the device keeps them (/lib); main.py and hal_esp32.py, which need
// the ESP32's `machine`, are only compiled. Prints "N passed, M failed" last.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

const here = dirname(fileURLToPath(import.meta.url));
const firmware = join(here, "..", "..", "firmware");
const lines = [];
const mp = await loadMicroPython({ stdout: (l) => lines.push(l), stderr: (l) => lines.push(l) });
mp.FS.mkdir("/lib");
const hardware = new Set(["main.py", "hal_esp32.py"]);
for (const name of readdirSync(firmware).filter((n) => n.endsWith(".py"))) {
  mp.FS.writeFile(join("/lib", hardware.has(name) ? `_compile_${name}` : name), readFileSync(join(firmware, name)));
}
for (const name of ["fakes.py", "test_logic.py"]) mp.FS.writeFile(join("/lib", name), readFileSync(join(here, name)));
try {
  mp.runPython(`
import sys
sys.path.append("/lib")
print("implementation:", sys.implementation.name, sys.version)
passed, failed = 0, 0
for name in ("main.py", "hal_esp32.py"):
    with open("/lib/_compile_" + name) as handle:
        try:
            compile(handle.read(), name, "exec")
            passed += 1
        except SyntaxError as exc:
            failed += 1
            print("FAIL compile", name, exc)
import test_logic
for name in sorted(dir(test_logic)):
    if name.startswith("test_"):
        try:
            getattr(test_logic, name)()
            passed += 1
        except Exception as exc:
            failed += 1
            print("FAIL", name, type(exc).__name__, exc)
print("%d passed, %d failed" % (passed, failed))
`);
} catch (error) {
  lines.push(String(error));
  lines.push("0 passed, 1 failed");
}
console.log(lines.join("\n"));
