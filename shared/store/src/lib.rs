//! The product DAO.
