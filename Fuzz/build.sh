#!/usr/bin/env bash
# Builds the libFuzzer harness (Fuzz/FuzzCapture.swift) over the analysis libraries, instrumented
# with -sanitize=fuzzer,address. The modules are compiled one by one with swiftc because a SwiftPM
# executable cannot take libFuzzer's main(). Output: Fuzz/build/fuzz-capture.
#
# Run:  Fuzz/build.sh && Fuzz/build/fuzz-capture -max_total_time=1800 Fuzz/corpus fixtures/pcap/*/ fixtures/derived fixtures/malformed
set -euo pipefail
cd "$(dirname "$0")/.."
out=Fuzz/build
mkdir -p "$out" Fuzz/corpus
flags=(-O -g -wmo -parse-as-library -sanitize=fuzzer,address -I "$out")
# The C modules as SwiftPM presents them: the header-only prefetch hint, and the system shims
# (affinity, malloc's threshold, environ) that TeardownIO wraps.
printf 'module CPrefetch {\n  header "%s"\n  export *\n}\nmodule CSystemShims {\n  header "%s"\n  export *\n}\n' \
  "$PWD/Sources/CPrefetch/include/prefetch.h" "$PWD/Sources/CSystemShims/include/system_shims.h" > "$out/module.modulemap"
clang -O2 -c Sources/CSystemShims/system_shims.c -I Sources/CSystemShims/include -o "$out/CSystemShims.o"
for module in TeardownWire TeardownAnalysis TeardownIO TeardownReport TeardownExplain; do
  swiftc "${flags[@]}" -module-name "$module" -emit-module -emit-module-path "$out/$module.swiftmodule" \
    -c Sources/$module/*.swift -o "$out/$module.o"
done
swiftc "${flags[@]}" -module-name FuzzCapture Fuzz/FuzzCapture.swift "$out"/Teardown*.o "$out/CSystemShims.o" -o "$out/fuzz-capture" 2>&1 | grep -v "Cannot export local symbol" || true
echo "built $out/fuzz-capture"
