"""The workflow functions' sizes, apart from the CDK constructs so that the cost model (bench/) reads them
without starting the CDK's Node.js runtime."""

STEPS = {  # step -> (memory MB, timeout s)
    "process": (2048, 900),  # the one-call path: validate + submit (the embedded engine OCRs here) + finalize
    "range": (2048, 300),  # one page range of a fanned-out document: ~30 s of OCR, at most a third of this
    "submit": (2048, 900), "poll": (512, 300), "finalize": (2048, 300), "fail": (256, 60),
    "notify": (256, 300),  # webhook delivery with back-off: minutes at most
    "sweep": (256, 120),  # every minute: fails the running jobs past their deadline (a few queries and writes)
}

#: the second engine's container-image function (functions/second_engine): one weak page per call, RapidOCR
#: with two onnxruntime threads (~1.7 vCPU at 3,008 MB); ~0.5 GB of working memory on a full page
SECOND_ENGINE = (3008, 60)

#: /tmp beyond Lambda's default 512 MB: the merge of a long document writes its pages, document.json and the
#: searchable PDF there before uploading them (a few hundred MB for 2,000 dense pages); $0.0000000309 per GB-s
EPHEMERAL_MB = {"finalize": 4096}
