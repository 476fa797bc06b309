# The Python half of tests/inference_parity.rs: huggingface_hub 2.4.0's InferenceClient makes
# every call of the parity table against the recording server at PARITY_URL. Before each case it
# sends `GET {PARITY_URL}/__mark/{case}` so the test can split the log per case.
#
# Python has no setting for the router host, so a process-wide HTTP client rewrites every
# request for a public host to the recorder, keeping path and query and prefixing the path with
# the host's role: router.huggingface.co -> /__router, huggingface.co -> /__hub,
# api-inference.huggingface.co -> /__legacy, any other host -> /__foreign/{host}. Nothing
# resolves a public host. One JSON line per case goes to stdout: {"case", "ok", "error"}.
import json
import os
import sys

import httpx2
import huggingface_hub
from huggingface_hub import InferenceClient
from huggingface_hub.utils._http import hf_request_event_hook

BASE = os.environ["PARITY_URL"].rstrip("/")
DIR = os.environ["PARITY_DIR"]
ONLY = set(filter(None, os.environ.get("PARITY_ONLY", "").split(",")))
LOOP = httpx2.URL(BASE)
ROLES = {
    "router.huggingface.co": "/__router",
    "huggingface.co": "/__hub",
    "api-inference.huggingface.co": "/__legacy",
}


class Rewrite(httpx2.HTTPTransport):
    def handle_request(self, request):
        host = request.url.host
        if host != LOOP.host or request.url.port != LOOP.port:
            prefix = ROLES.get(host, "/__foreign/" + host)
            request.url = request.url.copy_with(
                scheme="http",
                host=LOOP.host,
                port=LOOP.port,
                raw_path=prefix.encode() + request.url.raw_path,
            )
        return super().handle_request(request)


huggingface_hub.set_client_factory(
    lambda: httpx2.Client(
        transport=Rewrite(),
        event_hooks={"request": [hf_request_event_hook]},
        follow_redirects=True,
        timeout=None,
    )
)
MARK = httpx2.Client(timeout=30)

IMG = os.path.join(DIR, "img.png")
FLAC = os.path.join(DIR, "a.flac")
WAV = os.path.join(DIR, "a.wav")
with open(IMG, "rb") as f:
    IMG_BYTES = f.read()
RF = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}, "strict": True}}
MSG = [{"role": "user", "content": "hi"}]
TOOLS = [{"type": "function", "function": {"name": "f", "description": "does f", "parameters": {"type": "object", "properties": {}}}}]


def H(**kw):
    return InferenceClient(provider="hf-inference", token="hf_test", **kw)


def A(**kw):
    return InferenceClient(token="hf_test", **kw)


def m(case, task):
    return f"{case}/{task}"


U = BASE + "/u"
CASES = {
    # Mode H: every task on hf-inference (router), Hub id per call.
    "audio_classification_raw": lambda c: H().audio_classification(FLAC, model=m(c, "audio-classification")),
    "audio_classification_wav": lambda c: H().audio_classification(WAV, model=m(c, "audio-classification")),
    "audio_classification_params": lambda c: H().audio_classification(FLAC, model=m(c, "audio-classification"), top_k=2, function_to_apply="softmax"),
    "audio_to_audio": lambda c: H().audio_to_audio(FLAC, model=m(c, "audio-to-audio")),
    "asr_raw": lambda c: H().automatic_speech_recognition(FLAC, model=m(c, "automatic-speech-recognition")),
    "asr_extra_body": lambda c: H().automatic_speech_recognition(FLAC, model=m(c, "automatic-speech-recognition"), extra_body={"return_timestamps": True}),
    "image_classification_bytes": lambda c: H().image_classification(IMG_BYTES, model=m(c, "image-classification")),
    "image_classification_params": lambda c: H().image_classification(IMG, model=m(c, "image-classification"), top_k=1, function_to_apply="sigmoid"),
    "image_to_text": lambda c: H().image_to_text(IMG, model=m(c, "image-to-text")),
    "image_to_image_raw": lambda c: H().image_to_image(IMG, model=m(c, "image-to-image")),
    "image_to_image_params": lambda c: H().image_to_image(IMG, "make it blue", model=m(c, "image-to-image"), negative_prompt="red", num_inference_steps=10, guidance_scale=2.0),
    "image_segmentation_raw": lambda c: H().image_segmentation(IMG, model=m(c, "image-segmentation")),
    "image_segmentation_params": lambda c: H().image_segmentation(IMG, model=m(c, "image-segmentation"), mask_threshold=0.5, overlap_mask_area_threshold=0.3, subtask="panoptic", threshold=0.9),
    "object_detection_raw": lambda c: H().object_detection(IMG, model=m(c, "object-detection")),
    "object_detection_params": lambda c: H().object_detection(IMG, model=m(c, "object-detection"), threshold=0.5),
    "document_question_answering": lambda c: H().document_question_answering(IMG, "what?", model=m(c, "document-question-answering"), top_k=1),
    "visual_question_answering": lambda c: H().visual_question_answering(IMG, "what?", model=m(c, "visual-question-answering"), top_k=1),
    "zero_shot_image_classification": lambda c: H().zero_shot_image_classification(IMG, ["cat", "dog"], model=m(c, "zero-shot-image-classification"), hypothesis_template="A photo of a {}."),
    "zero_shot_image_classification_one_label": lambda c: H().zero_shot_image_classification(IMG, ["cat"], model=m(c, "zero-shot-image-classification")),
    "feature_extraction": lambda c: H().feature_extraction("hi", model=m(c, "feature-extraction"), normalize=True),
    "feature_extraction_batch": lambda c: H().feature_extraction(["a", "b"], model=m(c, "feature-extraction"), truncate=True, truncation_direction="left", prompt_name="query", dimensions=8),
    "sentence_similarity": lambda c: H().sentence_similarity("a", ["b", "c"], model=m(c, "sentence-similarity")),
    "fill_mask": lambda c: H().fill_mask("The [MASK].", model=m(c, "fill-mask"), targets=["a"], top_k=2),
    "question_answering": lambda c: H().question_answering("what?", "ctx", model=m(c, "question-answering"), top_k=1, align_to_words=True, doc_stride=16, handle_impossible_answer=False, max_answer_len=10, max_question_len=10, max_seq_len=100),
    "summarization": lambda c: H().summarization("t", model=m(c, "summarization"), generate_parameters={"max_new_tokens": 5, "x": None}),
    "summarization_params": lambda c: H().summarization("t", model=m(c, "summarization"), truncation="longest_first", clean_up_tokenization_spaces=True),
    "table_question_answering": lambda c: H().table_question_answering({"a": ["1"]}, "how many?", model=m(c, "table-question-answering"), padding="longest"),
    "tabular_classification": lambda c: H().tabular_classification({"a": ["1"]}, model=m(c, "tabular-classification")),
    "tabular_regression": lambda c: H().tabular_regression({"a": ["1"]}, model=m(c, "tabular-regression")),
    "text_classification": lambda c: H().text_classification("I love this", model=m(c, "text-classification")),
    "text_classification_params": lambda c: H().text_classification("I love this", model=m(c, "text-classification"), top_k=2, function_to_apply="softmax"),
    "text_generation": lambda c: H().text_generation("p", model=m(c, "text-generation")),
    "text_generation_params": lambda c: H().text_generation("p", model=m(c, "text-generation"), max_new_tokens=5, details=True, seed=1, stop=["\n"], temperature=0.5, top_k=5, top_p=0.9, do_sample=True, grammar={"type": "json", "value": {"type": "object"}}),
    "text_generation_stream_false": lambda c: H().text_generation("p", model=m(c, "text-generation"), stream=False, decoder_input_details=True),
    "text_generation_stream": lambda c: list(H().text_generation("p", model=m(c, "text-generation"), max_new_tokens=5, stream=True, details=True)),
    "text_to_image": lambda c: H().text_to_image("a cat", model=m(c, "text-to-image"), width=64, seed=1, extra_body={"foo": 1}),
    "text_to_image_params": lambda c: H().text_to_image("a cat", model=m(c, "text-to-image"), negative_prompt="dogs", height=32, num_inference_steps=4, guidance_scale=7.5, scheduler="DDIM"),
    "text_to_speech": lambda c: H().text_to_speech("hello", model=m(c, "text-to-speech"), do_sample=True, max_new_tokens=5),
    "text_to_speech_params": lambda c: H().text_to_speech("hello", model=m(c, "text-to-speech"), early_stopping="never", num_beams=2, temperature=0.7, top_p=0.9, use_cache=False),
    "text_to_video": lambda c: H().text_to_video("a cat", model=m(c, "text-to-video")),
    "image_to_video": lambda c: H().image_to_video(IMG, model=m(c, "image-to-video"), prompt="go"),
    "token_classification": lambda c: H().token_classification("Ann lives here", model=m(c, "token-classification")),
    "token_classification_params": lambda c: H().token_classification("Ann lives here", model=m(c, "token-classification"), aggregation_strategy="simple", ignore_labels=["O"], stride=2),
    "translation": lambda c: H().translation("Hello", model=m(c, "translation"), src_lang="en", tgt_lang="fr", truncation="do_not_truncate"),
    "translation_lone_src_lang": lambda c: H().translation("Hello", model=m(c, "translation"), src_lang="en"),
    "zero_shot_classification": lambda c: H().zero_shot_classification("text", ["a", "b"], model=m(c, "zero-shot-classification")),
    "zero_shot_classification_params": lambda c: H().zero_shot_classification("text", ["a", "b"], model=m(c, "zero-shot-classification"), multi_label=True, hypothesis_template="This is {}."),
    "chat_h_extra_body": lambda c: H().chat_completion(MSG, model=m(c, "conversational"), extra_body={"foo": "bar"}),
    "chat_h_response_format": lambda c: H().chat_completion(MSG, model=m(c, "conversational"), response_format=RF),
    "chat_h_params": lambda c: H().chat_completion(MSG, model=m(c, "conversational"), max_tokens=5, temperature=0.5, seed=1, stop=["x"], tools=TOOLS, tool_choice="auto"),
    "chat_h_client_model": lambda c: H(model=m(c, "conversational")).chat_completion(MSG, max_tokens=5),
    # The Hub task check refuses a model whose pipeline tag is another task (no inference POST).
    "task_check_mismatch": lambda c: H().fill_mask("The [MASK].", model=m(c, "text-classification")),
    # Client-level extras: bill-to and a user header.
    "bill_to_and_headers": lambda c: H(bill_to="my-org", headers={"X-Custom": "1"}).fill_mask("The [MASK].", model=m(c, "fill-mask")),
    # Mode A: chat through the auto-router.
    "chat_auto": lambda c: A().chat_completion(MSG, model="org/chat", max_tokens=5),
    "chat_auto_suffix": lambda c: A().chat_completion(MSG, model="org/chat:cheapest"),
    "chat_auto_stream": lambda c: list(A().chat_completion(MSG, model="org/chat", stream=True, stream_options={"include_usage": True})),
    "chat_auto_response_format": lambda c: A().chat_completion(MSG, model="org/chat", response_format=RF),
    # Row 7: provider auto, non-chat task -> the mapping's first provider (hf-inference here).
    "auto_mapping_fill_mask": lambda c: A().fill_mask("The [MASK].", model=m(c, "fill-mask")),
    # Mode P: third-party providers through the router (mapping look-up, providerId as model).
    "chat_together_rf": lambda c: InferenceClient(provider="together", token="hf_test").chat_completion(MSG, model=m(c, "conversational"), response_format=RF),
    "chat_cohere_rf": lambda c: InferenceClient(provider="cohere", token="hf_test").chat_completion(MSG, model=m(c, "conversational"), response_format=RF),
    "chat_fireworks_rf": lambda c: InferenceClient(provider="fireworks-ai", token="hf_test").chat_completion(MSG, model=m(c, "conversational"), response_format=RF),
    "chat_groq_staging": lambda c: InferenceClient(provider="groq", token="hf_test").chat_completion(MSG, model=m(c, "conversational"), max_tokens=3),
    "provider_task_unsupported": lambda c: InferenceClient(provider="together", token="hf_test").fill_mask("The [MASK].", model=m(c, "fill-mask")),
    # Mode U: a model URL called directly.
    "url_text_generation_query": lambda c: InferenceClient(model=U + "/text-generation?x=1", token="hf_test").text_generation("p"),
    "url_text_classification_call_model": lambda c: A().text_classification("I love this", model=U + "/text-classification"),
    "url_feature_extraction_trailing_slash": lambda c: InferenceClient(model=U + "/feature-extraction/").feature_extraction("hi"),
    "url_image_classification_raw": lambda c: InferenceClient(base_url=U + "/image-classification").image_classification(IMG),
    "url_tabular_regression": lambda c: InferenceClient(model=U + "/tabular-regression").tabular_regression({"a": ["1"]}),
    "url_text_to_video": lambda c: InferenceClient(model=U + "/text-to-video").text_to_video("a cat", num_frames=8),
    "url_image_to_video": lambda c: InferenceClient(model=U + "/image-to-video").image_to_video(IMG, prompt="go"),
    "url_chat_v1_slash": lambda c: InferenceClient(base_url=BASE + "/v1/").chat_completion(MSG),
    "url_chat_root": lambda c: InferenceClient(base_url=BASE).chat_completion(MSG, response_format=RF),
    "url_chat_root_provider_ignored": lambda c: InferenceClient(base_url=BASE, provider="together").chat_completion(MSG, model="my-model"),
    "url_chat_query": lambda c: InferenceClient(base_url=BASE + "/openai/v1?api-version=2").chat_completion(MSG),
    "url_chat_full_path": lambda c: InferenceClient(base_url=BASE + "/x/chat/completions", api_key="my-api-key").chat_completion(MSG, max_tokens=2),
    # Server questions (hf-inference client, as Python requires): GET {url}/info, {url}/health.
    "endpoint_info_url": lambda c: H(model=U + "/tgi/").get_endpoint_info(),
    "endpoint_info_url_query": lambda c: H(model=U + "/tgi?x=1").get_endpoint_info(),
    "endpoint_info_hub_id": lambda c: H().get_endpoint_info(model=m(c, "text-generation")),
    "endpoint_info_headers": lambda c: H(model=U + "/tgi", bill_to="my-org", headers={"X-Custom": "1"}).get_endpoint_info(),
    "health_check_url": lambda c: H(model=U + "/tgi/").health_check(),
    "health_check_hub_id": lambda c: H().health_check(model="org/m"),
}

for case, call in CASES.items():
    if ONLY and case not in ONLY:
        continue
    MARK.get(f"{BASE}/__mark/{case}")
    try:
        call(case)
        out = {"case": case, "ok": True, "error": None}
    except Exception as e:  # the outcome is reported, the test compares requests
        out = {"case": case, "ok": False, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out), flush=True)
MARK.get(f"{BASE}/__mark/__end")
sys.exit(0)
