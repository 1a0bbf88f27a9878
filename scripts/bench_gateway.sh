#!/bin/bash
# Usage: cargo build --release, then bash scripts/bench_gateway.sh (needs h2load: nghttp2-client).
# The 3 kB gRPC Echo frame is written to /tmp/echo.bin first.
# Side by side: h2load on Echo (3 kB) and single-window load --server, same gateway, same run.
set -e
python3 - <<'PY'
payload = b"x" * 3000
msg = b"\x0a" + bytes([0xb8, 0x17]) + payload  # field 1, length 3000 (varint)
open("/tmp/echo.bin", "wb").write(b"\x00" + len(msg).to_bytes(4, "big") + msg)
PY
BIN="$(dirname "$0")/../target/release/single-window"
rm -rf /tmp/swbench; 
$BIN serve --listen 127.0.0.1:50081 --data /tmp/swbench 2>/tmp/swbench.log &
PID=$!
sleep 2
for round in 1 2; do
echo "== round $round"
h2load -n 40000 -c 1 -m 10 -H 'content-type: application/grpc' -H 'te: trailers' -d /tmp/echo.bin http://127.0.0.1:50081/singlewindow.v1.Gateway/Echo | grep -E "finished in|requests:|time for request" 
$BIN load --server http://127.0.0.1:50081 --shipments 2500 --in-flight 10 --seed $((round*10+1)) | tail -3
h2load -n 100000 -c 10 -m 50 -H 'content-type: application/grpc' -H 'te: trailers' -d /tmp/echo.bin http://127.0.0.1:50081/singlewindow.v1.Gateway/Echo | grep -E "finished in|requests:|time for request"
$BIN load --server http://127.0.0.1:50081 --shipments 5000 --in-flight 500 --seed $((round*10+2)) | tail -3
done
kill $PID
