import 'onnxruntime-web'; // ortfix-expect: jsep-import error
