//! Audio tasks with audio answers: text-to-speech and audio-to-audio (inference.md §3.2, §4.4).

use super::binary::send_binary;
use super::media::{Media, binary_answer, decode_b64};
use super::vision::check_prompt;
use super::{from_value, json_value, send_json, task_builder};
use crate::error::Result;
use crate::inference::InferenceClient;
use crate::inference::input::{BinaryInput, sniff};
use crate::inference::task::Task;
use crate::inference::types::*;

task_builder! {
    /// A `text_to_speech` call; `.await` it for the audio bytes and their content type.
    TextToSpeech -> BinaryOutput { input: String, params: TextToSpeechParameters }
    options {
        /// Sample instead of greedy decoding.
        do_sample: bool => do_sample;
        /// When beam search stops (`true`, `false` or [`EarlyStopping::NEVER`]).
        early_stopping: impl Into<EarlyStopping> => early_stopping;
        /// Epsilon sampling cut-off.
        epsilon_cutoff: f64 => epsilon_cutoff;
        /// Eta sampling cut-off.
        eta_cutoff: f64 => eta_cutoff;
        /// Longest output (tokens, prompt included).
        max_length: u32 => max_length;
        /// Most new tokens.
        max_new_tokens: u32 => max_new_tokens;
        /// Shortest output (tokens, prompt included).
        min_length: u32 => min_length;
        /// Fewest new tokens.
        min_new_tokens: u32 => min_new_tokens;
        /// Groups of beams (diverse beam search).
        num_beam_groups: u32 => num_beam_groups;
        /// Beams of beam search.
        num_beams: u32 => num_beams;
        /// Contrastive search penalty.
        penalty_alpha: f64 => penalty_alpha;
        /// Sampling temperature.
        temperature: f64 => temperature;
        /// Top-k sampling.
        top_k: u32 => top_k;
        /// Nucleus sampling.
        top_p: f64 => top_p;
        /// Typical sampling.
        typical_p: f64 => typical_p;
        /// Use the key/value cache.
        use_cache: bool => use_cache;
    }
    lists {}
}

impl TextToSpeech {
    async fn send(self) -> Result<BinaryOutput> {
        check_prompt(Task::TextToSpeech, &self.input)?;
        let body = TaskRequest {
            inputs: &self.input,
            parameters: &self.params,
        };
        let resp = send_json!(self, Task::TextToSpeech, &body).await?;
        if resp.is_json() {
            // `{"audio": "<base64>", "sampling_rate": …}` (hfkit-only leniency).
            let j: JsonAudio = from_value(
                &resp,
                "audio bytes or {audio: <base64>}",
                json_value(&resp)?,
            )?;
            let bytes = decode_b64(&resp, "the audio", &j.audio)?;
            let content_type = sniff(&bytes).map(str::to_owned);
            return Ok(BinaryOutput {
                bytes,
                content_type,
            });
        }
        binary_answer(resp, Media::Audio)
    }
}

task_builder! {
    /// An `audio_to_audio` call; `.await` it for the output clips (e.g. separated sources).
    AudioToAudio -> Vec<AudioToAudioOutput> { input: BinaryInput, params: NoParameters }
    options {}
    lists {}
}

impl AudioToAudio {
    async fn send(self) -> Result<Vec<AudioToAudioOutput>> {
        let resp = send_binary!(self, Task::AudioToAudio).await?;
        let raw: Vec<RawAudioClip> = from_value(
            &resp,
            "a list of {label, content-type, blob}",
            json_value(&resp)?,
        )?;
        raw.into_iter()
            .map(|c| {
                let blob = decode_b64(&resp, &format!("the blob of {}", c.label), &c.blob)?;
                let content_type = c
                    .content_type
                    .or_else(|| sniff(&blob).map(str::to_owned))
                    .unwrap_or_else(|| "application/octet-stream".to_owned());
                Ok(AudioToAudioOutput {
                    label: c.label,
                    content_type,
                    blob,
                })
            })
            .collect()
    }
}

impl InferenceClient {
    /// Speaks a text; the answer is audio bytes (often FLAC or WAV) with their content type.
    ///
    /// ```no_run
    /// # async fn demo() -> hfkit::Result<()> {
    /// let client = hfkit::inference::InferenceClient::new()?;
    /// let audio = client
    ///     .text_to_speech("Hello world")
    ///     .model("espnet/kan-bayashi_ljspeech_vits")
    ///     .await?;
    /// println!("{} bytes of {:?}", audio.bytes.len(), audio.content_type);
    /// # Ok(()) }
    /// ```
    pub fn text_to_speech(&self, text: impl Into<String>) -> TextToSpeech {
        TextToSpeech::new(self, text.into())
    }

    /// Transforms audio (source separation, enhancement); each output clip comes decoded.
    pub fn audio_to_audio(&self, audio: impl Into<BinaryInput>) -> AudioToAudio {
        AudioToAudio::new(self, audio.into())
    }
}
