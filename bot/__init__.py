"""ortfix: finds onnxruntime-web loads of the deprecated JSEP WebGPU backend, and fixes them."""
