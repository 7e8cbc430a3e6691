const ort = require('onnxruntime-web'); // ortfix-expect: jsep-import error
const spaced = require ( 'onnxruntime-web' ) ; // ortfix-expect: jsep-import error
const other = require('onnxruntime-node');
