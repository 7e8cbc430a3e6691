const PRECACHE = ['/', '/index.html', '/wasm/ort-wasm-simd-threaded.jsep.wasm']; // ortfix-expect: jsep-asset error
self.addEventListener('install', (event) => event.waitUntil(caches.open('v1').then((c) => c.addAll(PRECACHE))));
