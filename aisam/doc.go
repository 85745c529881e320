// Package aisam is AI-SAM (Automatic and Interactive Segment Anything Model): SAM's image
// encoder, prompt encoder and mask decoder (package sam) plus the AI-Prompter
// (AutoPrompt), which turns an image embedding into class-wise point prompts, and a
// classifier head for class presence. It reproduces the official PyTorch code
// (github ymp5078/AI-SAM) to float32 precision, loads its checkpoints by their
// state_dict keys, and offers automatic segmentation (Model.Segment) and an interactive
// Session in which a person corrects the result with points and boxes.
//
// # Model
//
// C classes include background (class 0). For each class the AutoPrompt runs P point
// tokens and T class tokens through a modified two-way transformer (a 3x3 convolutional
// MLP on the image keys in every block; the image embedding itself serves as the key
// positional encoding); each point token becomes a heatmap over the 64x64 embedding grid,
// and the heatmap's softmax mixes SAM's dense positional codes into a "generalized
// point" (a one-hot heatmap gives exactly SAM's encoding of that cell). Class i's prompt
// is its own P points with SAM's positive-label embedding followed by every other class's
// points with the negative-label embedding. The mask decoder runs once per class (all
// classes in one batch), giving C-way low-resolution logits; the classifier head's
// sigmoid gates absent classes. A box for class i restricts its heatmaps (-999 outside,
// as the official code) and its logits (-inf outside).
//
// The AutoPrompt's classes go through its transformer as one batch against a single
// image: until the first image->token attention the image side is identical for every
// class and is computed once.
//
// # Interaction
//
// A Session keeps the embedding, the heatmap logits and the decoder outputs. Edits (add
// or remove a click, move or remove a generated point, a gating box or a SAM box token,
// forced presence, undo and redo) never rerun the encoder or the AutoPrompt transformer;
// the decoder reruns only for classes whose prompt changed. With AI-SAM's prompt layout a
// class's points are negatives for every other class, so most edits re-decode all
// classes; Options.LocalEdits confines an edit to its class (one decoder pass).
//
// # Files
//
// Load reads aisam's own format (safetensors whose metadata holds the JSON Config: class
// names, image size, preprocessing) or an AI-SAM checkpoint ({"model": state_dict} .pth,
// "sam." aliases and dead parameters included; in-model LoRA merged), optionally with a
// SAMed LoRA file. Model.Save writes aisam's format.
//
// # Training losses
//
// PromptLoss is the official AttnMaskLoss (gamma 0.1, temperature 7; point correctness,
// sharpness and the two diversity terms). MaskLoss is 0.2 cross-entropy + 0.8 soft Dice
// on the C-way logits: the medical training script of AI-SAM was not released, and this
// recipe (with the prompt loss at weight 1 and BCE on class presence, AdamW, warm-up then
// poly decay) is aisam's, following SAMed.
package aisam
