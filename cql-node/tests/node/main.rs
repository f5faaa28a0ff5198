//! The CQL node's integration tests, as one test binary: each module is one area (protocol,
//! drivers, replicas, faults, the Keyspaces profile...). One binary rather than one per file
//! because every file links the scylla driver and the node: 26 separate binaries made a fresh
//! clone's target directory 18 GB and filled CI's disk.

mod keyspaces_common;
mod support;

mod atomic_refusal;
mod auth_and_hooks;
mod binary;
mod clock_ttl_and_serial;
mod cluster_three_nodes;
mod clustering_slices;
mod faults_admin_http;
mod faults_binary_admin;
mod faults_driver;
mod faults_outcome_unknown;
mod keyspaces_aws_python_plugin;
mod keyspaces_binary;
mod keyspaces_profile;
mod keyspaces_tls_auth;
mod lwt_contention;
mod paging_boundaries;
mod protocol_frames;
mod python_clients;
mod replica_data;
mod replicas;
mod replicas_admin;
mod scylla_driver;
mod select_functions;
mod select_group_by;
mod select_restrictions;
mod validation_parity;
