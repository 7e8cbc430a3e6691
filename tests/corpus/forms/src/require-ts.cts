import ort = require('onnxruntime-web'); // ortfix-expect: jsep-import error
export = ort;
