//! Lost races are retried on the shared schedule; anything else is not.

use std::cell::Cell;

use keel_sdk::dapr::DaprError;

use super::*;
use sidecar::test_util::FakeSidecar;

fn lost_race() -> AuthError {
    AuthError::Store(DaprError::EtagMismatch { what: "save state".into(), message: "etag mismatch".into() })
}

#[actix_web::test]
async fn a_lost_race_is_retried_until_the_write_wins() {
    let tries = Cell::new(0);
    let out = retry_races("the test key", || async {
        tries.set(tries.get() + 1);
        if tries.get() < 3 {
            Err(lost_race())
        } else {
            Ok("written")
        }
    })
    .await;
    assert_eq!((out.unwrap(), tries.get()), ("written", 3));
}

#[actix_web::test]
async fn any_other_error_ends_the_attempts_at_once() {
    let tries = Cell::new(0);
    let out: Result<(), _> = retry_races("the test key", || async {
        tries.set(tries.get() + 1);
        Err(AuthError::Conflict("taken".into()))
    })
    .await;
    assert!(matches!(out, Err(AuthError::Conflict(_))), "{out:?}");
    assert_eq!(tries.get(), 1);
}

#[actix_web::test]
async fn losing_every_race_is_contention_on_what_was_written() {
    let tries = Cell::new(0);
    let out: Result<(), _> = retry_races_on(retry::after_race(2), "the test key", || async {
        tries.set(tries.get() + 1);
        Err(lost_race())
    })
    .await;
    assert_eq!(tries.get(), 3, "the first try and two retries");
    match out {
        Err(e @ AuthError::Contention(_)) => {
            assert_eq!(e.to_string(), "the test key kept changing under this request; retry")
        }
        other => panic!("{other:?}"),
    }
}

#[actix_web::test]
async fn concurrent_updates_of_one_key_all_land() {
    let fake = FakeSidecar::builder("auth").start().await;
    let store = Store::new(fake.dapr(), "statestore");
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            actix_rt::spawn(async move {
                store
                    .update::<u64, ()>("auth/test-counter", |n| {
                        *n += 1;
                        Ok(())
                    })
                    .await
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap().unwrap();
    }
    assert_eq!(fake.value("auth/test-counter"), Some(serde_json::json!(8)));
}
