// Package aisam is AI-SAM (Automatic and Interactive Segment Anything Model): SAM's image
// encoder, prompt encoder and mask decoder (package sam) plus the AI-Prompter
// (AutoPrompt), which turns an image embedding into class-wise point prompts, and a
// classifier head for class presence. It reproduces the official PyTorch code
// (github ymp5078/AI-SAM) to float32 precision, loads its checkpoints by their
// state_dict keys, and offers automatic segmentation (Segment) and an interactive
// session (Session) in which a person corrects the result with points and boxes.
//
// Conventions: C classes include background (class 0). The AutoPrompt's heatmaps live on
// SAM's 64x64 embedding grid; masks are 256x256 low-resolution logits, one map per
// class, read together as C-way logits.
package aisam
