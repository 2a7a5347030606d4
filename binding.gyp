{
  "targets": [
    {
      "target_name": "ntensor",
      "sources": [
        "native/addon.cc",
        "native/async.cc",
        "native/dispatch.cc",
        "native/kernels_scalar.cc",
        "native/kernels_avx2.cc",
        "native/gemm.cc",
        "native/gemm_scalar.cc",
        "native/gemm_avx2.cc",
        "native/gemm_avx512.cc",
        "native/gemm_neon.cc",
        "native/threadpool.cc",
        "native/pool.cc",
        "native/conv.cc",
        "native/conv_scalar.cc",
        "native/conv_avx2.cc",
        "native/conv_avx512.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fvisibility=hidden"],
      "conditions": [
        ["OS=='linux'", { "ldflags": ["-pthread", "-Wl,-z,nodelete"] }]
      ],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "10.15"
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1 } }
    }
  ]
}
