// Package metrics scores segmentations the way the medical-imaging literature does:
// Dice and Jaccard overlap, and the surface-distance metrics HD95, HD and ASSD with
// anisotropic voxel spacing, per class and per case, under AI-SAM's conventions for
// empty masks or the standard ones; plus pixel and prompt confusion matrices.
//
// The surface of a mask is the mask XOR its erosion by a connectivity-c structuring
// element with everything outside the array counting as background, so object voxels
// on the array border are surface. Distances come from an exact Euclidean distance
// transform computed in linear time (Felzenszwalb–Huttenlocher, one 1-D pass per axis,
// with the spacing folded into each pass), done plane by plane for 2-D and 3-D data;
// where the two surfaces are close, an exact outward search from each surface voxel
// replaces the passes of a plane (it minimises the same float64 expression, so the
// numbers do not change, only the time). The arithmetic follows the reference code
// (medpy as vendored by AI-SAM, numpy, scipy) operation by operation, so that results
// agree with it to the last bit on the reference fixtures: HD95 is numpy's linear
// percentile of the pooled distances of both directions, ASSD their pooled mean with
// numpy's pairwise summation.
//
// Arrays are flat and row-major (C order, last axis fastest) with an explicit shape;
// a spacing applies to the axes in the same order.
package metrics
