# Newsdesk Lambda image: one image, three functions (the template picks handler.chat / handler.slack /
# handler.ingest_s3 through ImageConfig.Command). Size budget: <= 2.5 GB uncompressed (Lambda allows 10 GB);
# see docs/aws.md, "Image size budget", for the breakdown.
# Builds for x86_64 and arm64 alike: the base image is multi-arch, Amazon Linux 2023, whose sqlite (3.40) is new
# enough for Chroma (the python:3.11 image's 3.7 needed pysqlite3-binary, which has no arm64 wheel), and the
# native dependencies (torch, chromadb, onnxruntime, onnx, tokenizers, PyStemmer, lxml) ship aarch64 wheels for
# Python 3.12. The template's Architecture parameter picks one: see docs/deploy.md for `sam build` and
# `docker buildx build --platform linux/arm64`.
FROM public.ecr.aws/lambda/python:3.12

# Only /tmp is writable on Lambda: point every cache a library might create there. The model is
# baked into the image and the hub is never contacted at run time.
ENV HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    HF_HOME=/tmp/.cache/huggingface \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    NUMBA_CACHE_DIR=/tmp/.cache/numba \
    MPLCONFIGDIR=/tmp/.cache/matplotlib \
    ANONYMIZED_TELEMETRY=False \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NEWSDESK_EMBEDDER=onnx \
    NEWSDESK_ONNX_DIR=/opt/newsdesk/onnx

# CPU-only torch, pinned like the Makefile: an unpinned torch pulls a multi-GB CUDA build. The CPU index has
# x86_64 and aarch64 wheels, so the same line serves both architectures.
# It is only used below to export the ONNX model; no request path imports it.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# Runtime dependencies (no dev extras).
COPY pyproject.toml README.md ${LAMBDA_TASK_ROOT}/
COPY newsdesk ${LAMBDA_TASK_ROOT}/newsdesk
# ingest/ installs as newsdesk.ingest (pyproject package-dir); the task root holds it there too.
COPY ingest ${LAMBDA_TASK_ROOT}/newsdesk/ingest
COPY prompts ${LAMBDA_TASK_ROOT}/prompts
COPY handler.py ${LAMBDA_TASK_ROOT}/
RUN pip install "${LAMBDA_TASK_ROOT}[aws,slack]"

# Export the shipped encoder (newsdesk/encoder/) to ONNX at build time (vectors match sentence-transformers), then
# check the image: Chroma imports (it refuses a system sqlite older than 3.35) and so does the handler.
RUN newsdesk export-onnx --out /opt/newsdesk/onnx \
    && python3 -c "import platform, sqlite3, chromadb; print(platform.machine(), 'sqlite', sqlite3.sqlite_version)" \
    && python3 -c "import handler; print('handler imports cleanly')"

CMD ["handler.chat"]
